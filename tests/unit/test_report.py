"""The HTML report on synthetic studies (no training): sections, numbers, escaping, edge cases."""

from __future__ import annotations

import html as htmllib
import math
import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from autorl.report import write_report
from autorl.report.curves import seed_curves
from autorl.report.fmt import DASH, TIMES
from autorl.report.importance import MIN_COMPLETED, compute_importances
from autorl.report.model import read_study
from autorl.scoring import aggregate, mean_interval
from autorl.study import attrs
from autorl.study.config import (
    VALIDATION_EVAL_SEED,
    VALIDATION_TRAIN_SEED,
    RaceSettings,
    StudyConfig,
)
from autorl.types import EvalSettings, TaskSpec

TIMESTEPS = 1000
SEEDS = 2
N_EVAL = 4
DISTRIBUTIONS = {
    "learning_rate": FloatDistribution(1e-5, 1e-2, log=True),
    "gamma": FloatDistribution(0.9, 0.9999),
    "net_arch": CategoricalDistribution(["small", "medium"]),
}
SECTION_HEADINGS = (
    "Best configuration",
    "Final test",
    "Optimisation history",
    "Parameter importances",
    "Learning curves",
    "Failures",
    "Cost",
)


def study_config() -> StudyConfig:
    return StudyConfig(
        task=TaskSpec("CartPole-v1"),
        algo="ppo",
        space={"algo": "ppo", "params": {"learning_rate": {"type": "float"}}},
        timesteps=TIMESTEPS,
        seeds=SEEDS,
        evaluation=EvalSettings(n_evaluations=N_EVAL, episodes=5, seed=10_000),
        pruner="median",
    )


def new_study(url: str | None, name: str = "cartpole-ppo", budget: int = 12) -> optuna.Study:
    """A study as autorl creates it; ``url`` None: in memory."""
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    study.set_user_attr(attrs.STUDY_CONFIG, study_config().to_dict())
    study.set_user_attr(attrs.STUDY_BUDGET, budget)
    return study


def curve(final: float, upto: int = N_EVAL) -> list[list[float]]:
    return [[TIMESTEPS * i // N_EVAL, final * i / N_EVAL, 1.0] for i in range(1, upto + 1)]


def intermediate(curves: list[list[list[float]]]) -> dict[int, float]:
    return {k * TIMESTEPS + int(s): m for k, c in enumerate(curves) for s, m, _ in c}


def add_complete(study: optuna.Study, params: dict, scores: list[float], wall: float) -> None:
    curves = [curve(s) for s in scores]
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    study.add_trial(
        create_trial(
            state=TrialState.COMPLETE,
            value=mean,
            params=params,
            distributions={k: DISTRIBUTIONS[k] for k in params},
            intermediate_values=intermediate(curves),
            user_attrs={
                attrs.CONFIG: {
                    "algo": "ppo",
                    "policy": "MlpPolicy",
                    "sb3_kwargs": {"learning_rate": params["learning_rate"], "n_steps": 256},
                    "env": {"n_envs": 1, "normalize_obs": False, "normalize_reward": False},
                },
                attrs.SEEDS: [
                    {
                        "seed": k,
                        "score": s,
                        "curve": c,
                        "env_steps": TIMESTEPS,
                        "wall_s": wall / len(scores),
                        "pruned": False,
                    }
                    for k, (s, c) in enumerate(zip(scores, curves, strict=True))
                ],
                attrs.SCORE_STD: std,
                attrs.ENV_STEPS: TIMESTEPS * len(scores),
                attrs.WALL_S: wall,
                attrs.SOURCE: "sampler",
            },
        )
    )


def add_pruned(study: optuna.Study, params: dict) -> None:
    seed0 = curve(5.0, upto=2)
    study.add_trial(
        create_trial(
            state=TrialState.PRUNED,
            params=params,
            distributions={k: DISTRIBUTIONS[k] for k in params},
            intermediate_values=intermediate([seed0]),
            user_attrs={
                attrs.SEEDS: [
                    {
                        "seed": 0,
                        "score": 2.5,
                        "curve": seed0,
                        "env_steps": 500,
                        "wall_s": 0.5,
                        "pruned": True,
                    }
                ],
                attrs.ENV_STEPS: 500,
                attrs.WALL_S: 0.5,
                attrs.FAILURE_REASON: "pruned",
                attrs.FAILURE_MESSAGE: "pruned at seed 0 after 500 steps (score 2.50)",
            },
        )
    )


def add_failed(study: optuna.Study, params: dict, reason: str | None, message: str) -> None:
    user = {attrs.ENV_STEPS: 250, attrs.WALL_S: 0.3, attrs.SEEDS: []}
    if reason is not None:
        user[attrs.FAILURE_REASON] = reason
        user[attrs.FAILURE_MESSAGE] = message
    study.add_trial(
        create_trial(
            state=TrialState.FAIL,
            params=params,
            distributions={k: DISTRIBUTIONS[k] for k in params},
            intermediate_values={250: -1.0},  # seed 0 cut short: rebuilt from the reports
            user_attrs=user,
        )
    )


def params(i: int) -> dict:
    return {
        "learning_rate": 10 ** (-5 + 3 * ((i * 37) % 11) / 10),
        "gamma": 0.9 + 0.0999 * ((i * 13) % 7) / 6,
        "net_arch": "small" if i % 3 else "medium",
    }


def full_study(url: str, validated: bool = True) -> tuple[optuna.Study, int]:
    """8 completed, 2 pruned, a diverged, an env_error and a killed trial."""
    study = new_study(url)
    for i in range(8):
        lr = params(i)["learning_rate"]
        score = 500 - 100 * abs(math.log10(lr) + 3.5)
        add_complete(study, params(i), [score - 3 + i % 2, score + 3], wall=10.0 + i)
    add_pruned(study, params(8))
    add_pruned(study, params(9))
    add_failed(study, params(10), "diverged", "NaN in the policy loss at step 250")
    add_failed(study, params(11), "env_error", "<script>alert('x')</script> env raised")
    add_failed(study, params(12), None, "")  # worker died: killed, re-queued
    best = max((t for t in study.trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    if validated:
        study.set_user_attr(
            attrs.STUDY_VALIDATION,
            {
                "trial": best.number,
                "tuning_score": best.value,
                "mean": 432.125,
                "std": 7.5,
                "scores": [424.625, 439.625, None],
                "train_seeds": [VALIDATION_TRAIN_SEED + k for k in range(3)],
                "eval_seed": VALIDATION_EVAL_SEED,
                "episodes": 20,
                "timesteps": TIMESTEPS,
                "failures": ["seed 100002: diverged: NaN"],
            },
        )
    return study, best.number


def text_of(html: str) -> str:
    """The page without plotly.js and tags, to search for what a reader sees."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_full_report(sqlite_url: str, tmp_path: Path) -> None:
    study, best = full_study(sqlite_url)
    out = write_report(study, tmp_path / "sub" / "report.html")
    assert out == tmp_path / "sub" / "report.html"
    html = out.read_text(encoding="utf-8")
    text = text_of(html)
    for heading in SECTION_HEADINGS:
        assert f"<h2>{heading}</h2>" in html
    assert "CartPole-v1" in text and "PPO" in text
    assert "12 / 12" in text
    assert f"1,000 per seed {TIMES} 2 seed(s) = 2,000" in text
    # best trial: number, params, config, both scores with their seeds
    best_trial = study.trials[best]
    assert f"Trial {best} " in text or f"Trial {best}<" in html
    for name, value in best_trial.params.items():
        assert name in text
        assert (f"{value:.4g}" if isinstance(value, float) else str(value)) in text
    assert '"n_steps": 256' in text
    assert "Selection score 500 ± 3 — mean ± std over 2 training seed(s)" in text
    # a record made before racing: what it has, nothing computed for what it lacks
    assert "Final test score 432.1 ± 7.5 — mean ± std over 3 test seed(s)" in text
    assert "Selection score 500 — mean over its training seeds" in text
    assert "Mean over test seeds 432.1 ± 7.5" in text
    assert "seed 100000: 424.6, seed 100001: 439.6, seed 100002: failed" in text
    for missing in ("Test score", "Worst test seed", "95% interval", "reach the threshold"):
        assert missing not in text
    assert "100000, 100001, 100002" in text
    assert "every configuration on 2 seed(s); score = mean of seed scores" in text
    assert "18 seed run(s), 17,750 env steps" in text  # 8 x 2 complete + 2 pruned runs
    assert f"episode seeds 200000{DASH}200019" in text
    assert "seed 100002: diverged: NaN" in text
    assert f"episode seeds 10000{DASH}10004" in text
    # failures: reasons, messages, escaped
    for reason in ("diverged", "env_error", "killed", "pruned"):
        assert reason in text
    assert "NaN in the policy loss at step 250" in text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    # figures: plotly.js once, inline; one script per figure
    assert html.count("<script") == 1 + 5
    assert "<script src=" not in html and "<script charset" not in html  # nothing to fetch
    for div in ("fig-history", "fig-importance", "fig-curves", "fig-failures", "fig-cost"):
        assert f'id="{div}"' in html
    assert "rebuilt from the values reported" in text  # the failed trials' partial seeds


def test_unvalidated_and_stale_validation(sqlite_url: str, tmp_path: Path) -> None:
    study, best = full_study(sqlite_url, validated=False)
    text = text_of(write_report(study, tmp_path / "r.html").read_text())
    assert "Not tested yet: the chosen configuration" in text
    assert "not tested yet: no score on unseen test seeds" in text
    other = next(
        t.number for t in study.trials if t.state == TrialState.COMPLETE and t.number != best
    )
    study.set_user_attr(
        attrs.STUDY_VALIDATION,
        {
            "trial": other,
            "mean": 1.5,
            "std": 0.0,
            "scores": [1.5],
            "train_seeds": [100000],
            "eval_seed": VALIDATION_EVAL_SEED,
            "episodes": 20,
            "timesteps": TIMESTEPS,
        },
    )
    text = text_of(write_report(study, tmp_path / "r.html").read_text())
    assert f"Trial tested {other}" in text
    assert f"of trial {other}, no longer the best" in text
    assert f"Trial {other} is no longer the best trial; trial {best} has not been tested" in text


RACE_NAME = "cartpole-race"
LOST = "cannot beat the incumbent after 1 seed(s): at best 433 (iqm of 3 seeds) against 500"
THRESHOLD = 475.0


def racing_study(url: str) -> optuna.Study:
    """A racing study (3 seeds, best needs 3, IQM), as autorl creates it."""
    config = StudyConfig(
        task=TaskSpec("CartPole-v1"),
        algo="ppo",
        space={"algo": "ppo", "params": {"learning_rate": {"type": "float"}}},
        timesteps=TIMESTEPS,
        race=RaceSettings(min_seeds=3, max_seeds=3, z=1.0),
        aggregate="iqm",
        evaluation=EvalSettings(
            n_evaluations=N_EVAL, episodes=5, seed=10_000, per_run_episodes=True
        ),
        threshold=THRESHOLD,
    )
    study = optuna.create_study(study_name=RACE_NAME, storage=url, direction="maximize")
    study.set_user_attr(attrs.STUDY_CONFIG, config.to_dict())
    study.set_user_attr(attrs.STUDY_BUDGET, 8)
    return study


def add_raced(
    study: optuna.Study,
    p: dict,
    scores: list[float],
    race: str,
    selectable: bool,
    pruned: tuple[bool, ...] = (),
) -> None:
    """A completed trial of a racing study: its IQM over the seeds it earned."""
    pruned = pruned or (False,) * len(scores)
    curves = [curve(s, upto=2 if cut else N_EVAL) for s, cut in zip(scores, pruned, strict=True)]
    mean = sum(scores) / len(scores)
    study.add_trial(
        create_trial(
            state=TrialState.COMPLETE,
            value=aggregate(scores, "iqm"),
            params=p,
            distributions={k: DISTRIBUTIONS[k] for k in p},
            intermediate_values=intermediate(curves),
            user_attrs={
                attrs.SEEDS: [
                    {
                        "seed": k,
                        "score": s,
                        "curve": c,
                        "env_steps": TIMESTEPS // 2 if cut else TIMESTEPS,
                        "wall_s": 1.0,
                        "pruned": cut,
                    }
                    for k, (s, c, cut) in enumerate(zip(scores, curves, pruned, strict=True))
                ],
                attrs.SCORE_STD: math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores)),
                attrs.ENV_STEPS: sum(TIMESTEPS // 2 if cut else TIMESTEPS for cut in pruned),
                attrs.WALL_S: float(len(scores)),
                attrs.SELECTABLE: selectable,
                attrs.RACE: race,
                attrs.SOURCE: "sampler",
            },
        )
    )


def test_racing_study(sqlite_url: str, tmp_path: Path) -> None:
    study = racing_study(sqlite_url)
    add_raced(study, params(0), [490.0, 500.0, 510.0], "ran all 3 seed(s)", True)  # 0: best
    add_raced(study, params(1), [300.0], LOST, False)  # 1
    add_raced(study, params(2), [470.0, 480.0, 475.0], "ran all 3 seed(s)", True)  # 2
    add_raced(study, params(3), [250.0], LOST, False)  # 3
    # 4: the highest value, but its second seed run was pruned: it cannot be chosen
    add_raced(study, params(4), [600.0, 580.0], "seed run 1 pruned", False, (False, True))
    add_pruned(study, params(5))  # 5: its first seed run pruned
    tests = [480.0, 495.0, 470.0, 460.0, 500.0]
    low, high = mean_interval(tests) or (0.0, 0.0)
    study.set_user_attr(
        attrs.STUDY_VALIDATION,
        {
            "trial": 0,
            "tuning_score": 500.0,
            "selection_score": 500.0,
            "selection_seeds": [0, 1, 2],
            "aggregate": "iqm",
            "score": aggregate(tests, "iqm"),
            "mean": sum(tests) / 5,
            "std": 14.5,
            "iqm": aggregate(tests, "iqm"),
            "worst": 460.0,
            "ci95": [low, high],
            "scores": tests,
            "train_seeds": [VALIDATION_TRAIN_SEED + k for k in range(5)],
            "eval_seed": VALIDATION_EVAL_SEED,
            "eval_seed_step": 20,
            "episodes": 20,
            "timesteps": TIMESTEPS,
            "failures": [],
            "threshold": THRESHOLD,
            "solved_fraction": 0.6,
        },
    )
    data = read_study(study)
    assert data.best is not None and data.best.number == 0
    assert [len(t.curves) for t in data.trials] == [3, 1, 3, 1, 2, 1]
    assert [t.seed_runs for t in data.trials] == [3, 1, 3, 1, 2, 1]
    assert [t.selectable for t in data.trials] == [True, False, True, False, False, False]
    assert data.seed_runs == 11

    html = write_report(study, tmp_path / "race.html").read_text(encoding="utf-8")
    text = text_of(html)
    for heading in SECTION_HEADINGS:
        assert f"<h2>{heading}</h2>" in html
    # settings: how seeds were chosen and what they cost
    assert (
        "racing: a configuration earns up to 3 seeds while it may beat the incumbent; the best "
        "needs 3; score = interquartile mean (IQM) of seed scores"
    ) in text
    assert "Timesteps per seed run 1,000; a configuration runs 1 to 3 seed runs" in text
    assert "what it spent: 11 seed run(s), 10,000 env steps" in text
    assert f"1,000 per seed {TIMES}" not in text
    assert "threshold: 475" in text
    # the best trial and the trials table
    assert "Selection score 500 — interquartile mean (IQM) of 3 training seed(s)" in text
    assert "Seeds 3 seed run(s); ran all 3 seed(s)" in text
    assert "score (iqm) seed runs selectable" in text
    assert LOST in text and "seed run 1 pruned" in text
    assert "4 590 2 no" in text.split("Top 5 completed trials")[1]  # IQM of 600 and 580
    assert "ran fewer than 3 complete seed run(s)" in text
    # the final test
    assert "Trial 0 was chosen by its selection score" in text and "no choice used" in text
    assert "Selection score 500 — interquartile mean (IQM) over training seeds 0, 1, 2" in text
    score = f"{aggregate(tests, 'iqm'):.4g}"
    assert f"Test score {score} — interquartile mean (IQM) over 5 test seed(s)" in text
    interval = f"95% interval of the mean [{low:.4g}, {high:.4g}]"
    assert f"Mean over test seeds 481 ± 14.5 (mean ± std); {interval}" in text
    assert "seed 100000: 480, seed 100001: 495, seed 100002: 470, seed 100003: 460" in text
    assert "Worst test seed 460" in text
    assert "3 of 5 test seeds reach the threshold 475" in text
    # every seed run, and every test seed, on its own episodes
    assert f"episode seeds 10000{DASH}10004 for the first seed run, shifted by 5" in text
    assert f"episode seeds 200000{DASH}200019 for the first test seed, shifted by 20" in text
    # figures: raced-out trials drawn apart, hover says why
    assert "Open circles" in text
    assert "completed on too few seeds (cannot be chosen)" in html
    assert "too few to be chosen" in html
    assert "Racing: a configuration has one line per seed it earned" in text
    for div in ("fig-history", "fig-curves", "fig-cost", "fig-failures"):
        assert f'id="{div}"' in html


def test_racing_study_without_a_selectable_trial(sqlite_url: str, tmp_path: Path) -> None:
    study = racing_study(sqlite_url)
    add_raced(study, params(0), [300.0, 280.0], "seed run 1 pruned", False, (False, True))
    text = text_of(write_report(study, tmp_path / "r.html").read_text())
    assert "No completed trial is selectable yet (each ran fewer than 3 complete" in text
    assert "No configuration has been chosen yet, so none has been tested" in text


def test_record_without_threshold(sqlite_url: str, tmp_path: Path) -> None:
    study = racing_study(sqlite_url)
    add_raced(study, params(0), [490.0, 500.0, 510.0], "ran all 3 seed(s)", True)
    study.set_user_attr(
        attrs.STUDY_VALIDATION,
        {
            "trial": 0,
            "selection_score": 500.0,
            "selection_seeds": [0, 1, 2],
            "aggregate": "iqm",
            "score": None,
            "mean": None,
            "std": 0.0,
            "iqm": None,
            "worst": None,
            "ci95": None,
            "scores": [None],
            "train_seeds": [VALIDATION_TRAIN_SEED],
            "threshold": None,
            "solved_fraction": None,
            "failures": ["seed 100000: diverged: NaN"],
        },
    )
    text = text_of(write_report(study, tmp_path / "r.html").read_text())
    assert "the study set no threshold and the environment registers none" in text
    assert "seed 100000: failed" in text and f"Worst test seed {DASH}" in text
    assert "95% interval" not in text


def test_empty_study(sqlite_url: str, tmp_path: Path) -> None:
    study = new_study(sqlite_url, name="empty")
    html = write_report(study, tmp_path / "empty.html").read_text()
    text = text_of(html)
    for heading in SECTION_HEADINGS:
        assert f"<h2>{heading}</h2>" in html
    assert "0 / 12" in text
    assert "No trial has completed yet" in text
    assert "No configuration has been chosen yet, so none has been tested" in text
    assert "The study has no trials yet" in text
    assert f"at least {MIN_COMPLETED} completed trials; this study has 0" in text
    assert "no learning curves" in text
    assert "No trial failed or was pruned" in text
    assert "No trial has recorded its wall-clock time" in text
    assert html.count("<script") == 1  # plotly.js, no figures


def test_single_trial(sqlite_url: str, tmp_path: Path) -> None:
    study = new_study(sqlite_url, name="one", budget=1)
    add_complete(study, params(0), [100.0, 110.0], wall=3.0)
    html = write_report(study, tmp_path / "one.html").read_text()
    text = text_of(html)
    assert "1 / 1" in text and "done" in text
    assert "105 ± 5" in text
    assert "this study has 1" in text  # importances: a sentence, no figure
    assert 'id="fig-importance"' not in html
    assert 'id="fig-history"' in html and 'id="fig-curves"' in html
    assert "No trial failed or was pruned" in text


def test_only_failures(sqlite_url: str, tmp_path: Path) -> None:
    study = new_study(sqlite_url, name="broken")
    add_failed(study, params(0), "timeout", "trial exceeded its 60 s limit")
    add_pruned(study, params(1))
    text = text_of(write_report(study, tmp_path / "b.html").read_text())
    assert "No trial has completed yet" in text
    assert "timeout" in text and "trial exceeded its 60 s limit" in text


def test_study_without_autorl_settings(sqlite_url: str, tmp_path: Path) -> None:
    study = optuna.create_study(study_name="plain <b>", storage=sqlite_url, direction="maximize")
    add_complete(study, params(0), [1.0, 2.0], wall=1.0)
    html = write_report(study, tmp_path / "p.html").read_text()
    assert "plain &lt;b&gt;" in html and "plain <b>" not in html
    assert "settings are unknown" in text_of(html)


def test_importances_leave_out_constant_parameters() -> None:
    study = new_study(None)
    for i in range(MIN_COMPLETED + 3):
        p = {**params(i), "net_arch": "small"}
        add_complete(study, p, [float(i), float(i) + 1], wall=1.0)
    imp = compute_importances(study)
    assert imp.reason is None
    assert set(imp.values) == {"learning_rate", "gamma"}
    assert "net_arch" in imp.excluded
    assert sum(imp.values.values()) == pytest.approx(1.0)


def test_importances_when_all_scores_tie() -> None:
    study = new_study(None)
    for i in range(MIN_COMPLETED):
        add_complete(study, params(i), [3.0, 3.0], wall=1.0)
    imp = compute_importances(study)
    assert not imp.values and "same score" in (imp.reason or "")


def test_seed_curves_prefer_the_seeds_attr_and_fall_back_to_reports() -> None:
    seed0 = curve(8.0)
    trial = create_trial(
        state=TrialState.FAIL,
        intermediate_values={**intermediate([seed0]), TIMESTEPS + 250: 1.0, TIMESTEPS + 500: 2.0},
        user_attrs={attrs.SEEDS: [{"seed": 0, "score": 8.0, "curve": seed0}]},
    )
    curves = seed_curves(trial, TIMESTEPS)
    assert [c.seed for c in curves] == [0, 1]
    assert curves[0].steps == (250, 500, 750, 1000) and not curves[0].from_reports
    assert curves[1].steps == (250, 500) and curves[1].means == (1.0, 2.0)
    assert curves[1].from_reports

    only_reports = create_trial(
        state=TrialState.COMPLETE,
        value=2.0,
        intermediate_values={500: 1.0, 1000: 2.0, 1500: 3.0, 2000: float("nan")},
    )
    curves = seed_curves(only_reports, TIMESTEPS)
    assert [(c.seed, c.steps) for c in curves] == [(0, (500, 1000)), (1, (500, 1000))]
    assert curves[1].means == (3.0, None)


def test_report_never_imports_torch_or_sb3() -> None:
    code = (
        "import sys, autorl.report, autorl.report.writer\n"
        "bad = [m for m in ('torch', 'stable_baselines3', 'gymnasium') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
