"""autorl's own tables on SQLite: tasks, families, features and study links, beside Optuna's."""

from __future__ import annotations

import sqlite3
import warnings

import optuna
import pytest

from autorl import db
from autorl.errors import AutoRLError, StudyError
from autorl.types import SpaceSummary, StudyLink, TaskFeatures, TaskSpec

CARTPOLE = TaskSpec(env_id="CartPole-v1")
LONG_POLE = TaskSpec(env_id="CartPole-v1", env_attrs={"length": 1.0}, family="poles")
PENDULUM = TaskSpec(env_id="Pendulum-v1", env_kwargs={"g": 12.0})

FEATURES = TaskFeatures(
    observation=SpaceSummary(kind="box", shape=(4,), low=-4.8, high=4.8),
    action=SpaceSummary(kind="discrete", shape=(), n=2),
    max_episode_steps=500,
    reward_threshold=475.0,
    random_return_mean=22.25,
    random_return_std=11.5,
    random_episode_length=22.25,
    reward_per_step_mean=1.0,
    reward_per_step_std=0.0,
    episodes=10,
    seed=0,
)


@pytest.fixture(autouse=True)
def _fresh_engines():
    yield
    db.dispose_engines()
    db.clear_schema_cache()


def _tables(url: str) -> set[str]:
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_register_is_idempotent_and_keeps_the_spec(sqlite_url):
    first = db.register_task(sqlite_url, PENDULUM)
    again = db.register_task(sqlite_url, PENDULUM)
    assert first == again
    assert first.key == PENDULUM.key()
    assert first.spec == PENDULUM  # stored without a family label; PENDULUM has none
    assert first.families == () and first.features is None
    assert [r.key for r in db.list_tasks(sqlite_url)] == [PENDULUM.key()]
    assert db.get_task(sqlite_url, PENDULUM.key()) == first
    assert db.get_task(sqlite_url, "nope") is None


def test_a_task_in_two_families(sqlite_url):
    db.register_task(sqlite_url, LONG_POLE, family="poles")
    db.register_task(sqlite_url, CARTPOLE, family="poles")
    record = db.register_task(sqlite_url, LONG_POLE, family="classic")
    assert record.families == ("classic", "poles")
    assert record.spec.family is None  # membership lives in families, not in the spec
    assert record.spec.env_attrs == {"length": 1.0}
    db.register_task(sqlite_url, PENDULUM)  # in no family

    assert db.list_families(sqlite_url) == [("classic", 1), ("poles", 2)]
    assert [r.key for r in db.list_tasks(sqlite_url, family="poles")] == [
        LONG_POLE.key(),
        CARTPOLE.key(),
    ]
    assert [r.key for r in db.list_tasks(sqlite_url, family="classic")] == [LONG_POLE.key()]
    assert [r.key for r in db.list_tasks(sqlite_url)] == [
        LONG_POLE.key(),
        CARTPOLE.key(),
        PENDULUM.key(),
    ]
    assert db.list_tasks(sqlite_url, family="unknown") == []


def test_features_round_trip_equal(sqlite_url):
    db.register_task(sqlite_url, CARTPOLE)
    db.set_features(sqlite_url, CARTPOLE.key(), FEATURES)
    record = db.get_task(sqlite_url, CARTPOLE.key())
    assert record is not None and record.features == FEATURES

    changed = TaskFeatures.from_dict({**FEATURES.to_dict(), "random_return_mean": 30.0})
    db.set_features(sqlite_url, CARTPOLE.key(), changed)  # replaces, one row per task
    assert db.register_task(sqlite_url, CARTPOLE).features == changed
    assert db.list_tasks(sqlite_url)[0].features == changed

    with pytest.raises(AutoRLError, match="no task with key 'nope' is registered"):
        db.set_features(sqlite_url, "nope", FEATURES)


def test_study_links_filter_by_family_algo_and_task(sqlite_url):
    db.register_task(sqlite_url, CARTPOLE, family="poles")
    db.register_task(sqlite_url, PENDULUM)
    links = [
        StudyLink("cp-ppo", CARTPOLE.key(), "ppo", family="poles"),
        StudyLink("cp-dqn", CARTPOLE.key(), "dqn", family="poles"),
        StudyLink("cp-plain", CARTPOLE.key(), "ppo"),
        StudyLink("pd-ppo", PENDULUM.key(), "ppo", family="swing"),
    ]
    for link in links:
        db.link_study(sqlite_url, link)
    db.link_study(sqlite_url, links[0])  # idempotent

    assert db.study_links(sqlite_url) == links
    assert db.study_links(sqlite_url, family="poles") == links[:2]
    assert db.study_links(sqlite_url, algo="ppo") == [links[0], links[2], links[3]]
    assert db.study_links(sqlite_url, task_key=CARTPOLE.key()) == links[:3]
    assert db.study_links(sqlite_url, family="poles", algo="dqn") == [links[1]]
    assert db.study_links(sqlite_url, task_key=PENDULUM.key(), algo="dqn") == []
    assert db.get_study_link(sqlite_url, "pd-ppo") == links[3]
    assert db.get_study_link(sqlite_url, "missing") is None
    # starting a study under a family puts its task in that family
    assert db.get_task(sqlite_url, PENDULUM.key()).families == ("swing",)

    with pytest.raises(StudyError, match="already linked"):
        db.link_study(sqlite_url, StudyLink("cp-ppo", PENDULUM.key(), "ppo"))


def test_linking_an_unregistered_task_is_a_clear_error(sqlite_url):
    with pytest.raises(AutoRLError, match=r"cannot link study 'x'.*no task with key 'ffff0000'"):
        db.link_study(sqlite_url, StudyLink("x", "ffff0000", "ppo", family="f"))
    assert db.study_links(sqlite_url) == []
    assert db.list_families(sqlite_url) == []  # the failed link left nothing behind


def test_in_memory_sqlite_works_within_a_process():
    url = "sqlite://"
    db.register_task(url, CARTPOLE, family="poles")
    assert [r.families for r in db.list_tasks(url)] == [("poles",)]


def _optuna_revision(url: str) -> list[tuple[str, ...]]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT * FROM alembic_version").fetchall()


def test_optuna_studies_live_beside_our_tables(sqlite_url):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = optuna.create_study(study_name="before", storage=sqlite_url)
        before.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        optuna_revision = _optuna_revision(sqlite_url)

        # an Optuna-only database: our tables are created beside Optuna's
        db.register_task(sqlite_url, CARTPOLE)
        db.link_study(sqlite_url, StudyLink("before", CARTPOLE.key(), "ppo"))
        tables = _tables(sqlite_url)
        assert {"studies", "trials", "alembic_version"} <= tables
        assert {
            "autorl_alembic_version",
            "autorl_families",
            "autorl_tasks",
            "autorl_family_tasks",
            "autorl_task_features",
            "autorl_study_tasks",
        } <= tables
        assert _optuna_revision(sqlite_url) == optuna_revision

        loaded = optuna.load_study(study_name="before", storage=sqlite_url)
        assert len(loaded.trials) == 2
        loaded.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        after = optuna.create_study(study_name="after", storage=sqlite_url)
        after.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        names = {s.study_name for s in optuna.get_all_study_summaries(sqlite_url)}
    assert names == {"before", "after"}
    assert _optuna_revision(sqlite_url) == optuna_revision
    assert db.current_revision(sqlite_url) == db.head_revision()
    assert db.get_study_link(sqlite_url, "before") == StudyLink("before", CARTPOLE.key(), "ppo")
