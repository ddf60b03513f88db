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
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compress"))
from tuned import autorl, cold_tune, tested

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


def run(name: str) -> None:
    out = RESULTS / f"{name}.json"
    if out.exists():
        log.info("%s exists: skipped", out)
        return
    from autorl.families import load_family

    domain = DOMAINS[name]
    task = load_family(domain["family"]).tasks[0]  # the default variant
    study_name = f"{domain['family']}-{task.name}-{domain['algo']}"
    url = f"sqlite:///{HERE / 'domains.db'}"
    spec = task.spec
    extra = ["--family", domain["family"]]
    if spec.env_kwargs:
        extra += ["--env-kwargs", json.dumps(dict(spec.env_kwargs))]
    if task.threshold is not None:
        extra += ["--threshold", str(task.threshold)]
    tuned_s = cold_tune(
        spec.env_id, domain["algo"], study_name, url, domain["trials"], domain["timesteps"],
        0, *extra,
    )  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    autorl("report", study_name, "--out", str(RESULTS / f"{name}.html"), "--storage", url)
    chosen, record = tested(study_name, url, tuned_s)
    result = {
        "domain": name,
        **domain,
        "env_id": spec.env_id,
        "study": study_name,
        "threshold": task.threshold,
        "config": chosen.user_attrs.get("config"),
        **record,
        "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    log.info("wrote %s: test %s", out, result["test_mean"])


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
