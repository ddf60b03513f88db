"""An HTML report of a study: one self-contained page (plotly.js inline, works offline).

Reads only what is in Optuna's storage (see ``autorl.study.attrs``); never imports torch or
Stable-Baselines3.

    from autorl.report import write_report
    write_report(study, Path("report.html"))
"""

from autorl.report.writer import write_report

__all__ = ["write_report"]
