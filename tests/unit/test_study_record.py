"""The study record: one parser for what autorl stores on a study, one state for everyone."""

from __future__ import annotations

import typing

import optuna
import pytest

from autorl.api.schemas import State as ApiState
from autorl.study import attrs, record
from autorl.study.record import State, StudyRecord, study_state


def test_a_record_is_parsed_once_with_defaults_for_what_is_missing():
    assert StudyRecord.of({}) == StudyRecord()
    parsed = StudyRecord.of(
        {
            attrs.STUDY_BUDGET: "12",
            attrs.STUDY_PRIORITY: 3,
            attrs.STUDY_STATE: "paused",
            attrs.STUDY_VALIDATION: {"mean": 1.0},
        }
    )
    assert (parsed.budget, parsed.priority, parsed.operator) == (12, 3, State.PAUSED)
    assert not parsed.active and parsed.validation == {"mean": 1.0}
    # a cleared state (null) or one nobody knows reads as active
    assert StudyRecord.of({attrs.STUDY_STATE: None}).active
    assert StudyRecord.of({attrs.STUDY_STATE: "done"}).operator is None


def test_the_state_rules_are_one_and_the_api_schema_names_the_same_states():
    assert study_state(5, 0, 5, State.CANCELLED) == State.CANCELLED
    assert study_state(5, 0, 5, State.PAUSED) == State.DONE  # done beats paused
    assert study_state(2, 0, 5, State.PAUSED) == State.PAUSED
    assert study_state(2, 1, 5) == State.RUNNING and study_state(2, 0, 5) == State.OPEN
    assert StudyRecord(budget=4).state(4, 0) == "done"  # a str: JSON and f-strings as before
    assert set(typing.get_args(ApiState)) == {s.value for s in State}


def test_writers_store_what_the_parser_reads():
    study = optuna.create_study()
    record.write_budget(study, 7)
    record.write_priority(study, 2)
    record.write_operator_state(study, State.CANCELLED)
    assert record.read(study) == StudyRecord(budget=7, priority=2, operator=State.CANCELLED)
    record.clear_operator_state(study)
    assert record.read(study).active
    with pytest.raises(ValueError, match="an operator sets paused or cancelled"):
        record.write_operator_state(study, State.DONE)
