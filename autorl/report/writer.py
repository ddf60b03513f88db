"""``write_report``: read a study, render the page, write it atomically."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import optuna

from autorl.report.importance import compute_importances
from autorl.report.model import read_study
from autorl.report.page import render

log = logging.getLogger(__name__)


def write_report(study: optuna.Study, out: Path) -> Path:
    """Write one self-contained HTML page about ``study`` to ``out``; returns its path.

    The page embeds plotly.js, so it opens offline. Parent folders are created; an existing
    file is replaced only once the new page is complete.
    """
    out = Path(out)
    data = read_study(study)
    importances = compute_importances(study)
    page = render(data, importances)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # same folder: replace is atomic
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info(
        "wrote the report of study %s (%d trials) to %s (%.1f MB)",
        study.study_name,
        len(data.trials),
        out,
        out.stat().st_size / 1e6,
    )
    return out
