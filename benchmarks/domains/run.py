"""One recorded tuning run per domain: the default variant of each shipped family, cold
(no warm start), with the algorithm's default space and racing, at a budget that fits a
2-core machine, then the chosen configuration on 5 test seeds (100000..100004, 20 episodes
each, seeded from 200000) that no choice used, as ``autorl tune`` does.

Studies land in ``domains.db`` (committed, no weights; resumable: rerun and a study
continues), each result in ``results/DOMAIN.json`` with the machine, and its report in
``results/DOMAIN.html``. A domain with a result is skipped (delete the file to run it again).

    .venv/bin/python benchmarks/domains/run.py --domains robot,games
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# Budgets: trials x steps per seed run, chosen so that a domain's study with up to 3 seed
# runs per configuration and the 5 test seeds fits an hour on one core.
DOMAINS: dict[str, dict[str, Any]] = {
    "robot": {"family": "inverted-pendulum-physics", "algo": "ppo", "trials": 10,
              "timesteps": 50_000},
    "box2d": {"family": "lunarlander-wind", "algo": "ppo", "trials": 8, "timesteps": 100_000},
    "games": {"family": "minatar-breakout", "algo": "ppo", "trials": 6, "timesteps": 100_000},
    "driving": {"family": "highway-traffic", "algo": "dqn", "trials": 6, "timesteps": 10_000},
}  # fmt: skip
log = logging.getLogger("domains")


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "commit": commit}  # fmt: skip


def _autorl(*args: str) -> None:
    cmd = [sys.executable, "-m", "autorl.cli", *args]
    log.info("%s", " ".join(cmd[2:]))
    subprocess.run(cmd, check=True)


def run(name: str) -> None:
    out = RESULTS / f"{name}.json"
    if out.exists():
        log.info("%s exists: skipped", out)
        return
    import optuna

    from autorl.families import load_family
    from autorl.study.accounting import total_compute

    domain = DOMAINS[name]
    task = load_family(domain["family"]).tasks[0]  # the default variant
    study_name = f"{domain['family']}-{task.name}-{domain['algo']}"
    url = f"sqlite:///{HERE / 'domains.db'}"
    spec = task.spec
    env = ["--env-kwargs", json.dumps(dict(spec.env_kwargs))] if spec.env_kwargs else []
    if task.threshold is not None:
        env += ["--threshold", str(task.threshold)]
    began = time.monotonic()
    _autorl(
        "tune", spec.env_id, *env, "--algo", domain["algo"], "--study", study_name,
        "--family", domain["family"], "--trials", str(domain["trials"]),
        "--timesteps", str(domain["timesteps"]), "--sampler-seed", "0",
        "--warm-start", "none", "--no-progress", "--storage", url,
    )  # fmt: skip
    tuned_s = time.monotonic() - began
    RESULTS.mkdir(parents=True, exist_ok=True)
    _autorl("report", study_name, "--out", str(RESULTS / f"{name}.html"), "--storage", url)
    study = optuna.load_study(study_name=study_name, storage=url)
    test = study.user_attrs["autorl.validation"]
    chosen = next(t for t in study.get_trials(deepcopy=False) if t.number == test["trial"])
    result = {
        "domain": name,
        **domain,
        "env_id": spec.env_id,
        "study": study_name,
        "chosen_trial": test["trial"],
        "selection_score": chosen.value,
        "seed_scores": chosen.user_attrs.get("seed_scores"),
        "test_mean": test["mean"],
        "test_scores": test["scores"],
        "solved_fraction": test.get("solved_fraction"),
        "threshold": test.get("threshold"),
        "config": chosen.user_attrs.get("config"),
        "env_steps": total_compute(study.get_trials(deepcopy=False))["env_steps"],
        "trials": len(study.trials),
        "tune_wall_s": round(tuned_s, 1),
        "test": {"seeds": list(range(100_000, 100_005)), "episodes": 20, "first_episode": 200_000},
        "machine": machine(),
        "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    log.info("wrote %s: test %s", out, test["mean"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", default=",".join(DOMAINS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("AUTORL_SEED_KB", "none")
    for name in args.domains.split(","):
        run(name)


if __name__ == "__main__":
    main()
