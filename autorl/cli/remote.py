"""``autorl submit`` and ``autorl status``: the CLI side of the HTTP API (``autorl serve``).

Nothing here trains or opens a database: a submission is validated and queued by the
server; ``autorl worker`` processes run it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from autorl.cli.common import json_object, print_table
from autorl.errors import AutoRLError
from autorl.scoring import AGGREGATES


def _add_api(p: argparse.ArgumentParser) -> None:
    p.add_argument("--api", help="the API's base URL (default: $AUTORL_API_URL or :8000 here)")
    p.add_argument("--token", help="the API token (default: $AUTORL_API_TOKEN)")
    p.add_argument("--json", action="store_true", help="print the API's JSON answer")


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("submit", help="submit an environment for tuning to an autorl API")
    s.add_argument("env", help="Gymnasium id, e.g. CartPole-v1 (or the id an entry point gets)")
    s.add_argument("--algo", default="ppo", help="ppo, a2c, dqn, sac, td3 (default ppo)")
    s.add_argument("--trials", type=int, default=20, help="budget: finished trials in total")
    s.add_argument("--timesteps", type=int, default=50_000, help="env steps per training run")
    s.add_argument("--study", help="study name (default: the server derives one)")
    s.add_argument("--family", help="task family label")
    s.add_argument("--env-kwargs", help="JSON constructor kwargs, e.g. '{\"g\": 12.0}'")
    s.add_argument("--env-attrs", help="JSON attributes set on the unwrapped env")
    s.add_argument("--entry-point", help="package.module:Class (the server's allow-list applies)")
    s.add_argument("--space", help="a shipped space name, or a YAML file sent inline")
    s.add_argument("--seeds", type=int, help="no racing: exactly K seeds per configuration")
    s.add_argument("--max-seeds", type=int, help="racing: seeds a configuration earns at most")
    s.add_argument("--min-seeds", type=int, help="racing: seeds the best needs at least")
    s.add_argument("--race-z", type=float)
    s.add_argument("--aggregate", choices=AGGREGATES)
    s.add_argument("--threshold", type=float, help="the return that counts as solved")
    s.add_argument("--evaluations", type=int, default=10)
    s.add_argument("--eval-episodes", type=int, default=5)
    s.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"])
    s.add_argument(
        "--test-seeds", "--validation-seeds", dest="validation_seeds", type=int, default=5
    )
    s.add_argument("--warm-start", default="auto", choices=["auto", "none"])
    s.add_argument("--warm-start-trials", type=int, default=5)
    s.add_argument("--priority", type=int, default=0)
    _add_api(s)
    s.set_defaults(handler=cmd_submit)

    t = sub.add_parser("status", help="a study's progress (or every study's) from an autorl API")
    t.add_argument("study", nargs="?", help="a study id (default: list every study)")
    _add_api(t)
    t.set_defaults(handler=cmd_status)


def submission(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /v1/studies body for these options (the server validates it)."""
    body: dict[str, Any] = {
        "env_id": args.env,
        "algo": args.algo,
        "trials": args.trials,
        "timesteps": args.timesteps,
        "evaluations": args.evaluations,
        "eval_episodes": args.eval_episodes,
        "pruner": args.pruner,
        "validation_seeds": args.validation_seeds,
        "warm_start": args.warm_start,
        "warm_start_trials": args.warm_start_trials,
        "priority": args.priority,
        "env_kwargs": json_object(args.env_kwargs, "--env-kwargs"),
        "env_attrs": json_object(args.env_attrs, "--env-attrs"),
    }
    optional = (
        ("name", args.study),
        ("family", args.family),
        ("seeds", args.seeds),
        ("max_seeds", args.max_seeds),
        ("min_seeds", args.min_seeds),
        ("race_z", args.race_z),
        ("aggregate", args.aggregate),
        ("threshold", args.threshold),
    )
    for key, value in optional:
        if value is not None:
            body[key] = value
    if args.entry_point:
        body["entry_point"] = args.entry_point
    if args.space:
        body.update(_space(args.space))
    return body


def _space(value: str) -> dict[str, Any]:
    """A shipped space by name, or a user's YAML file sent inline."""
    path = Path(value)
    if not (path.suffix in (".yaml", ".yml") or path.exists()):
        return {"space": value}
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise AutoRLError(f"--space {value}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise AutoRLError(f"--space {value}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise AutoRLError(f"--space {value}: expected a mapping of a search space at the top")
    return {"space_inline": data}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _row(study: dict[str, Any]) -> tuple[str, ...]:
    return (
        study["id"],
        study["env_id"],
        study["algo"],
        study["state"],
        f"{study['trials_done']}/{study['budget']}",
        str(study["running"]),
        _fmt(study["best"]),
        _fmt(study["validated_best"]),
    )


HEADER = ("study", "env", "algo", "state", "trials", "running", "best", "validated")


def _print_study(study: dict[str, Any]) -> None:
    print_table(HEADER, [_row(study)])
    if study["failures"]:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(study["failures"].items()))
        print(f"without a score: {reasons}")
    if study["warm_start"]:
        print(f"warm start queued {len(study['warm_start'])} trials from past tasks")


def cmd_submit(args: argparse.Namespace) -> int:
    from autorl.client import ApiClient

    client = ApiClient(args.api, args.token)
    study = client.submit(submission(args))
    if args.json:
        print(json.dumps(study, indent=2))
        return 0
    print(f"submitted {study['id']} to {client.url}: `autorl worker` processes run it")
    _print_study(study)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from autorl.client import ApiClient

    client = ApiClient(args.api, args.token)
    if args.study is None:
        studies = client.studies()
        if args.json:
            print(json.dumps(studies, indent=2))
        elif not studies:
            print(f"no studies at {client.url}")
        else:
            print_table(HEADER, [_row(s) for s in studies])
        return 0
    study = client.study(args.study)
    if args.json:
        print(json.dumps(study, indent=2))
    else:
        _print_study(study)
    return 0
