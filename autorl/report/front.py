"""The report's front: return against the policy's size, latency as colour (studies tuned
with ``--objectives``; ``autorl.study.objectives``)."""

from __future__ import annotations

import plotly.graph_objects as go

from autorl.report.figures import COLORS, _layout
from autorl.report.html import Html, figure, note, para, section, table
from autorl.report.model import COMPLETE, ReportData, TrialView

ANCHOR, TITLE = "front", "Front: return against size"
AXIS = {"params": "acting parameters (log scale)", "latency": "µs per action (log scale)"}


def _cost(trial: TrialView, objective: str) -> float | None:
    return trial.policy_params if objective == "params" else trial.latency_us


def front_figure(data: ReportData) -> go.Figure | None:
    """Every completed trial with a cost as a point (latency as its colour), the front as
    a step line through its points; None when there is nothing to draw."""
    objective = data.config.cost_objective if data.config else None
    points = [
        t
        for t in data.trials
        if objective and t.outcome == COMPLETE and t.value is not None and _cost(t, objective)
    ]
    if not points:
        return None
    on_front = [t for n in data.front for t in points if t.number == n]
    hover = (
        "trial %{customdata[0]}<br>%{customdata[1]:,} parameters, %{customdata[2]:.0f} µs"
        "<br>return %{y:.4g} over %{customdata[3]} seed(s)<extra></extra>"
    )
    fig = go.Figure(
        [
            go.Scatter(
                x=[_cost(t, objective) for t in points],
                y=[t.value for t in points],
                customdata=[
                    [t.number, t.policy_params or 0, t.latency_us or 0.0, t.seed_runs]
                    for t in points
                ],
                mode="markers",
                marker={
                    "size": [10 if t.selectable else 6 for t in points],
                    "color": [t.latency_us or 0.0 for t in points],
                    "colorscale": "Viridis",
                    "colorbar": {"title": "µs/action"},
                },
                name="trials (small: fewer than min_seeds seeds)",
                hovertemplate=hover,
            ),
            go.Scatter(
                x=[_cost(t, objective) for t in on_front],
                y=[t.value for t in on_front],
                mode="lines",
                line={"shape": "hv", "color": COLORS["best"], "width": 2},
                name="front (multi-seed aggregates)",
                hoverinfo="skip",
            ),
        ]
    )
    fig.update_xaxes(type="log", title_text=AXIS[objective])
    fig.update_yaxes(title_text="return (aggregate of training seeds)")
    return _layout(fig, 440)


def front_section(data: ReportData) -> Html:
    objective = data.config.cost_objective if data.config else None
    if objective is None:
        return section(
            ANCHOR,
            TITLE,
            note("Tuned for return alone; tune with --objectives return,params for a front."),
        )
    fig = front_figure(data)
    by_number = {t.number: t for t in data.trials}
    rows = [
        (
            t.number,
            "-" if t.policy_params is None else f"{t.policy_params:,}",
            "-" if t.latency_us is None else f"{t.latency_us:.0f}",
            f"{t.value:.2f}",
            t.seed_runs,
        )
        for t in (by_number[n] for n in data.front)
    ]
    text = (
        f"Return against the policy's {objective}: each point a completed trial, coloured by "
        "its latency per action (batch 1, the worker's device). The front holds the "
        "selectable trials that no selectable trial beats on return at no more cost; each "
        "trial was pruned and raced only against trials no larger than it. `autorl train "
        "STUDY --smallest-within 5%` trains the cheapest point within 5% of the best."
    )
    body = [para(text)]
    body.append(figure(fig, "fig-front") if fig else note("No completed trial has a cost yet."))
    if rows:
        body.append(table(("trial", "parameters", "µs/action", "return", "seed runs"), rows))
    return section(ANCHOR, TITLE, *body)
