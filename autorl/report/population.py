"""The HTML report of a population-based training run: the population's scores over time
with every copy drawn in, the winner's lineage and schedule, and the failures."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from autorl.db import population as store
from autorl.pbt.records import PbtRun, Segment
from autorl.report.html import esc, figure, join, key_values, section, table
from autorl.report.page import STYLE
from autorl.runtime.population import lineage, mutable_specs, winner
from autorl.spaces import SearchSpace


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def population_figure(segments: list[Segment], best: int | None) -> go.Figure:
    """Each member's score at the end of each segment; a dotted line joins a copy to the
    donor's point it started from."""
    fig = go.Figure()
    members = sorted({s.member for s in segments})
    at = {(s.member, s.generation): s for s in segments}
    for member in members:
        own = [s for s in segments if s.member == member and s.score is not None]
        fig.add_trace(
            go.Scatter(
                x=[s.until_step for s in own],
                y=[s.score for s in own],
                mode="lines+markers",
                name=f"member {member}" + (" (winner)" if member == best else ""),
                line={"width": 3 if member == best else 1.5},
            )
        )
    for s in segments:
        donor = at.get((s.source_member, s.generation - 1)) if s.exploited else None
        if donor is not None and donor.score is not None and s.score is not None:
            fig.add_trace(
                go.Scatter(
                    x=[donor.until_step, s.until_step],
                    y=[donor.score, s.score],
                    mode="lines",
                    line={"dash": "dot", "color": "#999", "width": 1},
                    hovertext=f"member {s.member} copied member {donor.member}",
                    showlegend=False,
                )
            )
    fig.update_layout(
        height=420,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        xaxis_title="env steps",
        yaxis_title="evaluation return (same episodes for every member)",
    )
    return fig


def schedule_figure(chain: list[Segment], names: list[str], space: SearchSpace) -> go.Figure:
    """The winner's values of the mutable parameters over time (a step per segment)."""
    fig = go.Figure()
    for name in names:
        spec = space.spec(name)
        xs, ys = [], []
        for s in chain:
            xs += [s.start_step, s.until_step]
            ys += [s.params.get(name)] * 2
        scale = getattr(spec, "log", False)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name + (" (log)" if scale else "")))
    fig.update_layout(
        height=340, margin={"l": 60, "r": 20, "t": 30, "b": 50}, xaxis_title="env steps"
    )
    if any(getattr(space.spec(n), "log", False) for n in names):
        fig.update_yaxes(type="log")
    return fig


def render(url: str, run: PbtRun) -> str:
    segments = store.segments(url, run.id)
    space = SearchSpace.from_dict(run.space)
    best = winner(url, run)
    outcome = store.get_outcome(url, run.id)
    names = sorted(mutable_specs(space))
    settings = run.settings
    overview = key_values(
        [
            ("task", esc(f"{run.task.env_id} {dict(run.task.env_kwargs or {}) or ''}")),
            ("algorithm", esc(run.algo)),
            ("population", esc(settings.population)),
            ("segments", esc(f"{settings.generations} of {settings.interval} env steps")),
            ("explore", esc(f"{settings.explore}, bottom {settings.quantile:g} copies")),
            ("mutable parameters", esc(", ".join(names))),
            ("state", esc(run.state + (f": {run.message}" if run.message else ""))),
            ("copies", esc(sum(s.exploited for s in segments))),
        ]
    )
    parts = [section("overview", "Run", overview)]
    if outcome is not None:
        test = key_values(
            [
                ("winner", esc(f"member {outcome['member']}")),
                ("last evaluation", esc(_fmt(outcome["selection_score"]))),
                (
                    "test",
                    esc(
                        f"{outcome['test_score']:.2f} on {outcome['test_episodes']} episodes "
                        f"seeded from {outcome['test_seed']} (no generation's evaluation used "
                        "them)"
                    ),
                ),
            ]
        )
        parts.append(section("test", "Published result", test))
    parts.append(
        section(
            "population",
            "The population over time",
            figure(population_figure(segments, best.member if best else None), "pbt-population"),
        )
    )
    if best is not None:
        chain = lineage(url, run, best.member)
        rows = [
            [
                esc(f"{s.start_step}-{s.until_step}"),
                esc(s.member),
                esc(s.source_member if s.exploited else "-"),
                esc(_fmt(s.score)),
                *(esc(_fmt(s.params.get(n))) for n in names),
            ]
            for s in chain
        ]
        parts.append(
            section(
                "schedule",
                "The winner's lineage and schedule",
                figure(schedule_figure(chain, names, space), "pbt-schedule"),
                table(["steps", "member", "copied", "score", *names], rows, "compact"),
            )
        )
    failed = [s for s in segments if s.error]
    if failed:
        rows = [[esc(s.member), esc(s.generation), esc(s.error)] for s in failed]
        parts.append(
            section("failures", "Failed segments", table(["member", "gen", "error"], rows))
        )
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = join(parts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>autorl population report: {esc(run.name)}</title>
<style>{STYLE}</style><script type="text/javascript">{get_plotlyjs()}</script></head>
<body><header><h1>autorl population report: {esc(run.name)}</h1>
<div class="sub">{esc(run.algo.upper())} on {esc(run.task.env_id)} · {esc(run.state)}</div></header>
<main>{body}</main>
<footer>Generated by autorl on {esc(generated)} from the run's storage.</footer></body></html>
"""


def write_population_report(url: str, run: PbtRun, out: Path) -> Path:
    """Write the run's report to ``out`` (atomically); returns its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(render(url, run), encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
