"""The ``autorl`` command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from autorl.errors import AutoRLError

log = logging.getLogger("autorl")


def build_parser() -> argparse.ArgumentParser:
    from autorl.cli import (
        compress,
        db,
        kb,
        meta,
        models,
        pbt,
        query,
        remote,
        serve,
        tasks,
        tune,
        worker,
    )

    parser = argparse.ArgumentParser(
        prog="autorl",
        description="Tune reinforcement-learning agents: Optuna search + Stable-Baselines3.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tune.register(sub)
    pbt.register(sub)
    query.register(sub)
    models.register(sub)
    compress.register(sub)
    tasks.register(sub)
    kb.register(sub)
    meta.register(sub)
    db.register(sub)
    worker.register(sub)
    serve.register(sub)
    remote.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("optuna").setLevel(max(level, logging.WARNING))
    if level > logging.INFO and getattr(args, "uses_optuna", True):
        # Optuna logs through its own handler; keep its per-study chatter out of the terminal
        # (importing it costs 0.3 s: a command that never loads it says so)
        import optuna.logging

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return int(args.handler(args) or 0)
    except AutoRLError as exc:  # a problem the user can act on: the message says what
        print(f"autorl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "autorl: interrupted; finished trials are stored, the running one is re-queued",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        # The reader went away (`autorl studies | head`): not an error of autorl; stop
        # quietly, and keep Python from failing again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a command killed by the signal reports
    except Exception:
        traceback.print_exc()
        print(
            "autorl: internal error: the traceback above is a bug in autorl or a library it "
            "uses, not a problem with your input; please report it with the command you ran",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
