"""A terminal progress bar for a tuning run: trials finished / budget, best so far, ETA."""

from __future__ import annotations

import sys

from tqdm import tqdm

from autorl.runtime.tune import Progress


class ProgressBar:
    """tqdm on stderr, fed by Progress snapshots (from this process or a polling loop)."""

    def __init__(self, study_name: str, enabled: bool = True) -> None:
        self._bar: tqdm | None = None
        self._name = study_name
        self._enabled = enabled

    def __call__(self, progress: Progress) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            self._bar = tqdm(
                total=progress.budget,
                initial=progress.done,
                desc=self._name,
                unit="trial",
                file=sys.stderr,
                dynamic_ncols=True,
                disable=None,  # off when stderr is not a terminal
            )
        bar = self._bar
        bar.total = progress.budget
        if progress.done > bar.n:
            bar.update(progress.done - bar.n)
        best = "-" if progress.best is None else f"{progress.best:.4g}"
        bar.set_postfix_str(f"best {best}, running {progress.running}", refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
