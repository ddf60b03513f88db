"""``autorl worker``: serve every study of a storage, one trial at a time."""

from __future__ import annotations

import argparse

from autorl.cli.common import add_storage, shown_url, storage_url


def register(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser(
        "worker", help="run trials of the storage's studies until stopped (SIGTERM re-queues)"
    )
    w.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: per study)")
    w.add_argument("--threads", type=int, help="torch threads of this worker (default: all cores)")
    w.add_argument("--exit-when-idle", action="store_true", help="stop when no study has work")
    w.add_argument("--poll", type=float, default=5.0, help="seconds between looks for work")
    w.add_argument("--max-trials", type=int, help="stop after this many trials")
    add_storage(w)
    w.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from autorl.runtime.loop import WorkerSettings, serve

    url = storage_url(args)
    print(f"worker serving {shown_url(url)}", flush=True)
    ran = serve(
        WorkerSettings(
            url, args.device, args.threads, args.exit_when_idle, args.poll, args.max_trials
        )
    )
    print(f"worker ran {ran} trials")
    return 0
