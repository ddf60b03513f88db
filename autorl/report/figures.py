"""The report's plotly figures. Each returns a figure, or None when there is nothing to draw.

Text that came from users (parameter names and values, failure messages) is HTML-escaped:
plotly renders a subset of HTML in labels and hover text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from autorl.report import fmt
from autorl.report.importance import Importances
from autorl.report.model import COMPLETE, FAILED, PRUNED, RUNNING, ReportData, TrialView
from autorl.types import NOT_COUNTED

COLORS = {
    COMPLETE: "#1f77b4",
    PRUNED: "#8c8c8c",
    FAILED: "#d62728",
    RUNNING: "#2ca02c",
    "best": "#ff7f0e",
    "best_so_far": "#ff7f0e",
    "not_counted": "#c7c7c7",
}
TEMPLATE = "plotly_white"
MAX_HOVER_MESSAGE = 300


def _esc(text: object) -> str:
    return html.escape(str(text))


def _params_hover(params: dict[str, object], limit: int = 12) -> str:
    items = [f"{_esc(k)} = {_esc(fmt.param(v))}" for k, v in sorted(params.items())]
    if len(items) > limit:
        items = [*items[:limit], f"… {len(items) - limit} more"]
    return "<br>".join(items)


def _trial_hover(trial: TrialView) -> str:
    head = f"<b>trial {trial.number}</b> ({_esc(trial.reason or trial.outcome)})"
    if trial.value is not None:
        head += f"<br>score {_esc(fmt.score(trial.value, trial.score_std))}"
    elif trial.last_reported is not None:
        head += f"<br>last evaluation {_esc(fmt.number(trial.last_reported))}"
    if trial.seed_runs:
        head += f"<br>{trial.seed_runs} seed run(s)"
        if trial.outcome == COMPLETE and not trial.selectable:
            head += ", too few to be chosen"
    if trial.race:
        head += f"<br>{_esc(trial.race)}"
    if trial.message:
        message = trial.message.strip().splitlines()[0][:MAX_HOVER_MESSAGE]
        head += f"<br>{_esc(message)}"
    params = _params_hover(trial.params)
    return f"{head}<br>{params}" if params else head


def _layout(fig: go.Figure, height: int, **kwargs: object) -> go.Figure:
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"align": "left"},
        **kwargs,
    )
    return fig


def history_figure(data: ReportData) -> go.Figure | None:
    """Score per trial with the best so far; below, every trial's outcome."""
    trials = data.trials
    if not trials:
        return None
    outcomes = [_esc(t.reason or t.outcome) for t in trials]
    order = sorted(set(outcomes), key=lambda o: (o != COMPLETE, o != PRUNED, o))
    main_px, strip_px = 380, 40 + 22 * len(order)  # every outcome gets a readable row
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[main_px / (main_px + strip_px), strip_px / (main_px + strip_px)],
        vertical_spacing=0.03,
    )
    scored = [t for t in trials if t.outcome == COMPLETE and t.value is not None]
    done = [t for t in scored if t.selectable]
    unchosen = [t for t in scored if not t.selectable]  # lost their race: too few seeds
    pruned = [t for t in trials if t.outcome == PRUNED and t.last_reported is not None]
    if pruned:
        fig.add_trace(
            go.Scatter(
                x=[t.number for t in pruned],
                y=[t.last_reported for t in pruned],
                mode="markers",
                name="pruned (last evaluation before it was stopped)",
                marker={"color": COLORS[PRUNED], "symbol": "x", "size": 7},
                hovertext=[_trial_hover(t) for t in pruned],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
    if unchosen:
        fig.add_trace(
            go.Scatter(
                x=[t.number for t in unchosen],
                y=[t.value for t in unchosen],
                mode="markers",
                name="completed on too few seeds (cannot be chosen)",
                marker={"color": COLORS[COMPLETE], "size": 8, "symbol": "circle-open"},
                hovertext=[_trial_hover(t) for t in unchosen],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
    if done:
        fig.add_trace(
            go.Scatter(
                x=[t.number for t in done],
                y=[t.value for t in done],
                error_y={
                    "type": "data",
                    "array": [t.score_std or 0.0 for t in done],
                    "thickness": 1,
                    "width": 0,
                    "color": "rgba(31,119,180,0.35)",
                },
                mode="markers",
                name=f"completed ({_esc(data.aggregate)} over seeds, bar: std)",
                marker={"color": COLORS[COMPLETE], "size": 8},
                hovertext=[_trial_hover(t) for t in done],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
        best_x, best_y, running = [], [], None
        for t in done:
            running = t.value if running is None else max(running, t.value)
            best_x.append(t.number)
            best_y.append(running)
        best_x.append(trials[-1].number)
        best_y.append(running)
        fig.add_trace(
            go.Scatter(
                x=best_x,
                y=best_y,
                mode="lines",
                line={"color": COLORS["best_so_far"], "shape": "hv", "width": 2},
                name="best so far",
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    if data.best is not None and data.best.value is not None:
        fig.add_trace(
            go.Scatter(
                x=[data.best.number],
                y=[data.best.value],
                mode="markers",
                name=f"best: trial {data.best.number}",
                marker={
                    "color": COLORS["best"],
                    "symbol": "star",
                    "size": 16,
                    "line": {"color": "black", "width": 1},
                },
                hovertext=[_trial_hover(data.best)],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=[t.number for t in trials],
            y=outcomes,
            mode="markers",
            marker={
                "color": [_outcome_color(t) for t in trials],
                "symbol": "square",
                "size": 9,
            },
            showlegend=False,
            hovertext=[_trial_hover(t) for t in trials],
            hoverinfo="text",
        ),
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text=f"score ({_esc(data.aggregate)} of seed returns)", row=1, col=1)
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=list(reversed(order)),
        tickmode="array",
        tickvals=order,
        title_text="outcome",
        row=2,
        col=1,
    )
    fig.update_xaxes(title_text="trial number", row=2, col=1)
    if trials[-1].number - trials[0].number <= 20:
        fig.update_xaxes(dtick=1)  # trial numbers are integers: no 0.5 ticks
    return _layout(fig, main_px + strip_px + 110)


def _outcome_color(trial: TrialView) -> str:
    if trial.outcome in (PRUNED, FAILED) and trial.reason in NOT_COUNTED:
        return COLORS["not_counted"]
    return COLORS.get(trial.outcome, COLORS["not_counted"])


def importance_figure(importances: Importances) -> go.Figure | None:
    if not importances.values:
        return None
    names = list(importances.values)[::-1]  # largest on top
    values = [importances.values[n] for n in names]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=[_esc(n) for n in names],
            orientation="h",
            marker={"color": COLORS[COMPLETE]},
            text=[f"{v:.2f}" for v in values],
            textposition="auto",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(
        title_text=f"importance ({importances.evaluator}, sums to 1)", rangemode="tozero"
    )
    fig.update_yaxes(automargin=True)
    return _layout(fig, 120 + 28 * len(names), showlegend=False)


_CURVE_STYLE = {
    FAILED: ({"color": COLORS[FAILED], "width": 1, "dash": "dot"}, 0.6, "failed"),
    PRUNED: ({"color": COLORS[PRUNED], "width": 1, "dash": "dash"}, 0.55, "pruned"),
    RUNNING: ({"color": COLORS[RUNNING], "width": 1}, 0.8, "running"),
    COMPLETE: ({"color": COLORS[COMPLETE], "width": 1.2}, 0.45, "completed"),
}


def _curve_xy(trial: TrialView) -> tuple[list, list, list]:
    """All seeds of a trial in one trace, separated by gaps (fewer traces, one hover each)."""
    xs: list[int | None] = []
    ys: list[float | None] = []
    custom: list[Sequence[object]] = []
    for curve in trial.curves:
        if xs:
            xs.append(None)
            ys.append(None)
            custom.append((trial.number, curve.seed))
        xs.extend(curve.steps)
        ys.extend(curve.means)
        custom.extend([(trial.number, curve.seed)] * len(curve.steps))
    return xs, ys, custom


def curves_figure(data: ReportData) -> go.Figure | None:
    """Evaluation return vs env steps within each seed's run: one line per trial and seed."""
    best_number = data.best.number if data.best else None
    with_curves = [t for t in data.trials if t.curves]
    if not with_curves:
        return None
    traces: list[go.Scatter] = []
    shown: set[str] = set()
    crowd = len(with_curves) > 100  # many trials: thinner, fainter lines so the best stands out
    for outcome in (FAILED, PRUNED, RUNNING, COMPLETE):
        line, opacity, label = _CURVE_STYLE[outcome]
        for trial in with_curves:
            if trial.outcome != outcome or trial.number == best_number:
                continue
            xs, ys, custom = _curve_xy(trial)
            traces.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    customdata=custom,
                    mode="lines" if crowd else "lines+markers",
                    marker={"size": 3},
                    line=line,
                    opacity=opacity / 2 if crowd else opacity,
                    name=label,
                    legendgroup=outcome,
                    showlegend=outcome not in shown,
                    hovertemplate=(
                        "trial %{customdata[0]}, seed %{customdata[1]}"
                        f" ({_esc(trial.reason or trial.outcome)})"
                        "<br>step %{x:,}<br>return %{y:.4g}<extra></extra>"
                    ),
                )
            )
            shown.add(outcome)
    best = next((t for t in with_curves if t.number == best_number), None)
    if best is not None:
        xs, ys, custom = _curve_xy(best)
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                customdata=custom,
                mode="lines+markers",
                marker={"size": 5},
                line={"color": COLORS["best"], "width": 3},
                name=f"best: trial {best.number}",
                hovertemplate=(
                    "<b>best</b>: trial %{customdata[0]}, seed %{customdata[1]}"
                    "<br>step %{x:,}<br>return %{y:.4g}<extra></extra>"
                ),
            )
        )
    fig = go.Figure(data=traces)  # one call: adding traces one by one is slow for big studies
    fig.update_xaxes(title_text="env steps (within each seed's training run)")
    fig.update_yaxes(title_text="evaluation return (mean over episodes)")
    return _layout(fig, 480)
