"""Figures of where a study's trials failed and where its compute went."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from autorl.report import fmt
from autorl.report.figures import COLORS, _esc, _layout, _trial_hover
from autorl.report.model import COMPLETE, FAILED, PRUNED, ReportData
from autorl.types import NOT_COUNTED


def failures_figure(data: ReportData) -> go.Figure | None:
    """Trials without a score, by reason."""
    if not data.failures:
        return None
    reasons = sorted(data.failures, key=lambda r: (-data.failures[r], r))
    counts = [data.failures[r] for r in reasons]
    colors = [
        COLORS["not_counted"]
        if r in NOT_COUNTED
        else (COLORS[PRUNED] if r == PRUNED else COLORS[FAILED])
        for r in reasons
    ]
    notes = [
        "does not count against the budget" if r in NOT_COUNTED else "counts against the budget"
        for r in reasons
    ]
    fig = go.Figure(
        go.Bar(
            x=[_esc(r) for r in reasons],
            y=counts,
            marker={"color": colors},
            text=counts,
            textposition="auto",
            customdata=notes,
            hovertemplate="%{x}: %{y} trials<br>%{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="trials", rangemode="tozero")
    fig.update_xaxes(title_text="reason")
    return _layout(fig, 340, showlegend=False)


def cost_figure(data: ReportData) -> go.Figure | None:
    """Wall-clock per trial against its score; beside it, wall-clock by outcome."""
    timed = [t for t in data.trials if t.wall_s is not None]
    if not timed:
        return None
    divisor, unit = fmt.time_unit(max(t.wall_s or 0.0 for t in timed))
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.66, 0.34],
        horizontal_spacing=0.12,
        subplot_titles=("wall-clock per trial vs score", "wall-clock by outcome (all trials)"),
    )
    best_number = data.best.number if data.best else None
    groups = [
        (
            "completed",
            [t for t in timed if t.outcome == COMPLETE and t.value is not None],
            COLORS[COMPLETE],
            "circle",
        ),
        (
            "pruned (last evaluation)",
            [t for t in timed if t.outcome == PRUNED and t.last_reported is not None],
            COLORS[PRUNED],
            "x",
        ),
    ]
    for label, group, color, symbol in groups:
        if not group:
            continue
        fig.add_trace(
            go.Scatter(
                x=[(t.wall_s or 0.0) / divisor for t in group],
                y=[t.value if t.value is not None else t.last_reported for t in group],
                mode="markers",
                name=label,
                marker={
                    "color": [COLORS["best"] if t.number == best_number else color for t in group],
                    "symbol": symbol,
                    "size": [14 if t.number == best_number else 8 for t in group],
                    "line": {"color": "black", "width": 0.5},
                },
                hovertext=[
                    f"{_trial_hover(t)}<br>wall-clock {_esc(fmt.duration(t.wall_s))}"
                    f"<br>env steps {fmt.number(t.env_steps)}"
                    for t in group
                ],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
    totals: dict[str, float] = {}
    for t in timed:
        key = t.reason if t.outcome in (PRUNED, FAILED) and t.reason else t.outcome
        totals[key] = totals.get(key, 0.0) + (t.wall_s or 0.0)
    keys = sorted(totals, key=lambda k: totals[k])  # horizontal bars: the largest on top
    bar_divisor, bar_unit = fmt.time_unit(max(totals.values()))
    fig.add_trace(
        go.Bar(
            y=[_esc(k) for k in keys],
            x=[totals[k] / bar_divisor for k in keys],
            orientation="h",
            marker={
                "color": [
                    COLORS.get(k, COLORS["not_counted"] if k in NOT_COUNTED else COLORS[FAILED])
                    for k in keys
                ]
            },
            text=[fmt.duration(totals[k]) for k in keys],
            textposition="auto",
            constraintext="none",
            insidetextanchor="end",
            showlegend=False,
            hovertemplate="%{y}: %{text}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(title_text=f"wall-clock per trial ({unit})", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="score", row=1, col=1)
    fig.update_xaxes(title_text=f"wall-clock ({bar_unit})", rangemode="tozero", row=1, col=2)
    fig.update_yaxes(automargin=True, row=1, col=2)
    _layout(fig, 460)
    fig.update_layout(margin={"t": 90}, legend={"y": 1.1})  # legend above the subplot titles
    return fig
