"""Compression of a teacher trained with SB3's default network: the smallest distilled
student that still reaches the task's threshold, and what int8 keeps.

For each task: a teacher (RL Zoo's tuned hyperparameters, SB3's default architecture) is
trained once on seed 0 and saved under ``state/`` (not committed: model weights), then
``autorl.compress.pipeline.compress`` exports it (fp32, int8) and distils it into each of the
task's student widths; every variant is evaluated on the same 20 episodes (seeds 200000..).
Results land in ``results/TASK.json`` with the machine; a task with a result is skipped
(delete the file to run it again).

    .venv/bin/python benchmarks/compress/run.py --tasks cartpole,pendulum
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from tuned import machine  # benchmarks/compress/tuned.py

HERE = Path(__file__).resolve().parent
STATE, RESULTS = HERE / "state", HERE / "results"

TASKS: dict[str, dict[str, Any]] = {
    "cartpole": {
        "env_id": "CartPole-v1",
        "algo": "ppo",
        "threshold": 475.0,
        "timesteps": 100_000,
        "n_envs": 8,
        "sb3_kwargs": {  # RL Zoo's ppo.yml CartPole-v1
            "n_steps": 32,
            "batch_size": 256,
            "gae_lambda": 0.8,
            "gamma": 0.98,
            "n_epochs": 20,
            "ent_coef": 0.0,
            "learning_rate": {"schedule": "linear", "initial": 0.001},
            "clip_range": {"schedule": "linear", "initial": 0.2},
        },
        "students": [[64, 64], [16], [8], [4], []],
    },
    "pendulum": {
        "env_id": "Pendulum-v1",
        "algo": "sac",
        "threshold": -200.0,
        "timesteps": 20_000,
        "n_envs": 1,
        "sb3_kwargs": {"learning_rate": 0.001},  # RL Zoo's sac.yml Pendulum-v1
        "students": [[64, 64], [32, 32], [16, 16], [8, 8]],
    },
    "mountaincar": {
        "env_id": "MountainCarContinuous-v0",
        "algo": "ppo",
        "threshold": 90.0,
        "timesteps": 20_000,
        "n_envs": 1,
        "normalize_obs": True,
        "sb3_kwargs": {  # RL Zoo's ppo.yml MountainCarContinuous-v0 (normalize: true)
            "batch_size": 256,
            "n_steps": 8,
            "gamma": 0.9999,
            "learning_rate": 7.77e-05,
            "ent_coef": 0.00429,
            "clip_range": 0.1,
            "n_epochs": 10,
            "gae_lambda": 0.9,
            "max_grad_norm": 5.0,
            "vf_coef": 0.19,
            "use_sde": True,
            "policy_kwargs": {"log_std_init": -3.29, "ortho_init": False},
        },
        "students": [[64, 64], [16], [8], [4], []],
    },
    "lunarlander": {
        "env_id": "LunarLander-v3",
        "algo": "ppo",
        "threshold": 200.0,
        "timesteps": 1_000_000,
        "n_envs": 16,
        "sb3_kwargs": {  # RL Zoo's ppo.yml LunarLander
            "n_steps": 1024,
            "batch_size": 64,
            "gae_lambda": 0.98,
            "gamma": 0.999,
            "n_epochs": 4,
            "ent_coef": 0.01,
        },
        "students": [[64, 64], [32], [16], [8]],
    },
}


def teacher(name: str, task: dict[str, Any]) -> Path:
    from autorl.training.artifacts import save_trained
    from autorl.training.trainer import train_model
    from autorl.types import EnvSettings, EvalSettings, TaskSpec, TrainConfig, TrainSpec

    path = STATE / name / "teacher.zip"
    if path.is_file():
        return path
    spec = TrainSpec(
        task=TaskSpec(task["env_id"]),
        config=TrainConfig(
            task["algo"],
            "MlpPolicy",
            task["sb3_kwargs"],
            EnvSettings(n_envs=task["n_envs"], normalize_obs=task.get("normalize_obs", False)),
        ),
        timesteps=task["timesteps"],
        seed=0,
        evaluation=EvalSettings(n_evaluations=1),
    )
    began = time.monotonic()
    model, venv = train_model(spec)
    try:
        save_trained(model, venv, path, spec.task, spec.config, extra={"seed": 0})
    finally:
        venv.close()
    logging.info("%s: teacher trained in %.0f s", name, time.monotonic() - began)
    return path


def run(name: str) -> None:
    from autorl.compress.pipeline import compress

    out = RESULTS / f"{name}.json"
    if out.is_file():
        logging.info("%s: done (%s)", name, out)
        return
    task = TASKS[name]
    model = teacher(name, task)
    began = time.monotonic()
    report = compress(
        model, STATE / name / "compressed", task["students"], ("fp32", "int8"), episodes=20
    )
    teacher_row = report["variants"][0]
    for row in report["variants"]:
        row["reaches_threshold"] = row["mean_return"] >= task["threshold"]
        row["parameters_vs_teacher"] = round(row["parameters"] / teacher_row["parameters"], 4)
        row["latency_vs_sb3"] = round(teacher_row["latency_us"] / row["latency_us"], 1)
    report.update(
        task=name,
        threshold=task["threshold"],
        teacher_training={
            **{k: task[k] for k in ("algo", "timesteps", "n_envs", "sb3_kwargs")},
            "normalize_obs": task.get("normalize_obs", False),
        },
        seconds=round(time.monotonic() - began, 1),
        machine=machine(),
        when=time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for row in report["variants"]:
        logging.info(
            "%s %-28s %7d params %8d B %8.1f us %8.1f kept %s",
            name,
            row["name"],
            row["parameters"],
            row["bytes"],
            row["latency_us"],
            row["mean_return"],
            row["kept"],
        )


def summary() -> str:
    """The recorded results as markdown tables, one per task."""
    out = []
    for path in (RESULTS / f"{name}.json" for name in TASKS):
        if not path.is_file():  # results/ also holds front.py's and joint.py's
            continue
        r = json.loads(path.read_text())
        out.append(
            f"**{r['env_id']}** ({r['teacher_training']['algo'].upper()}, teacher "
            f"{r['teacher_training']['timesteps']:,} steps, seed 0; {r['episodes']['count']} "
            f"episodes, seeds {r['episodes']['seeds']}; random play {r['random_return']:.1f}; "
            f"threshold {r['threshold']:g}; {r['machine']['cpu']}, {r['machine']['cores']} "
            f"cores, commit {r['machine']['commit']}, {r['when']})\n"
        )
        out.append(
            "| variant | parameters (of the teacher's) | bytes | µs/action (x faster than SB3) "
            "| return | kept | agreement (teacher's states / space samples) |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for v in r["variants"]:
            sampled = v.get("agreement_sampled")
            out.append(
                f"| {v['name']} | {v['parameters']:,} ({100 * v['parameters_vs_teacher']:.2f}%) "
                f"| {v['bytes']:,} | {v['latency_us']:.1f} ({v['latency_vs_sb3']:g}x) "
                f"| {v['mean_return']:.1f}{' ✓' if v['reaches_threshold'] else ''} "
                f"| {100 * v['kept']:.1f}% | {v['agreement']:.3f} / "
                f"{'' if sampled is None else f'{sampled:.3f}'} |"
            )
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--summary", action="store_true", help="print the tables and stop")
    args = parser.parse_args()
    if args.summary:
        print(summary())
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from autorl.training.device import set_threads

    set_threads(1)  # one torch thread: the teacher's training shares a 2-core machine
    for name in args.tasks.split(","):
        run(name)


if __name__ == "__main__":
    main()
