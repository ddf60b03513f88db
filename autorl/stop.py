"""A process-wide "stop requested" flag, set by the SIGINT/SIGTERM handlers.

Raising from a signal handler is not enough on its own: when the signal lands while Python
runs a finaliser or a weakref callback (SQLAlchemy's class registry has some), the exception
is printed as "Exception ignored in ..." and lost. The handlers therefore also set this flag,
and long loops (every env step of a training run, the worker loop) check it, so a lost stop
is raised again moments later. Imports nothing from autorl.
"""

from __future__ import annotations

_requested = False


def request_stop() -> None:
    global _requested
    _requested = True


def clear_stop() -> None:
    global _requested
    _requested = False


def stop_requested() -> bool:
    return _requested


def raise_if_stopped() -> None:
    """Raise KeyboardInterrupt if a stop was requested (and perhaps swallowed)."""
    if _requested:
        raise KeyboardInterrupt("stop requested")
