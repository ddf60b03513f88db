"""Seed runs in a child process, so that a crash of the trial cannot take its worker down.

A segfault in an environment's C extension, ``os.abort()``, the kernel's OOM killer: each
ends the process it happens in. ``IsolatedTrain`` therefore trains each seed run in a child
forked from a fork server (started once per worker process with torch, SB3 and the trainer
imported, so a child starts in ~20 ms and never inherits the worker's threads or database
connections). Child and worker talk through a pipe: each evaluation goes up (the worker
stores it and answers whether to prune), the child's log records go up, and its result, its
``TrialFailure`` or its exception comes back and is raised in the worker as if it had been
raised there. A child that dies without a word is a ``crashed`` failure naming the signal or
exit status; one still running ``GRACE_S`` past its wall-clock limit is killed (``timeout``);
one whose worker was killed ends itself within a second. In a daemonic process (a process
pool's worker), which may not start children, the run trains in that process.
``call_apart`` runs any other call on user code the same way (a forked child, no fork
server): the environment checks at submission.
``memory_mb`` caps the child's address space (``RLIMIT_AS``): an allocation past it raises
MemoryError in the child, an ``oom`` failure.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from autorl.errors import TrialFailure
from autorl.stop import raise_if_stopped
from autorl.training.device import threads_setting
from autorl.types import FailureReason, SeedResult, TrainSpec

if TYPE_CHECKING:
    from autorl.runtime.objective import TrainFn

log = logging.getLogger(__name__)

Report = Callable[[int, float], bool]
# What the fork server imports once for every child: the trainer (torch, SB3, gymnasium), and
# what the first optimizer step would import in each child (torch._dynamo, sympy: ~1.5 s).
PRELOAD = ["autorl.training.trainer", "torch._dynamo"]
POLL_S = 0.5  # how often the worker looks at a silent child (alive? stop requested?)
GRACE_S = 30.0  # past the seed run's own limit, before the worker kills its child
WATCH_S = 1.0  # how often a child checks that its worker is still there
_SIGNAL_HINTS = {
    signal.SIGKILL: "sent by the kernel's OOM killer when memory runs out, or by kill -9",
    signal.SIGSEGV: "a crash in native code: an environment's C extension, a library",
    signal.SIGABRT: "an abort in native code, or os.abort()",
}


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        atexit.unregister(_stop_fork_server)  # once, however many trials asked
        atexit.register(_stop_fork_server)
        return ctx
    return multiprocessing.get_context("spawn")


def start_fork_server() -> None:
    """Start the fork server now (its imports take seconds), so the first trial does not wait
    for it as long; a no-op where there is none. It is stopped when this process exits
    (``_stop_fork_server``)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        _context()
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _stop_fork_server() -> None:
    """End this process's fork server. On its own it leaves once it sees this process gone,
    but not while it is still importing torch: on a loaded machine that outlasted a stopped
    ``autorl tune`` by over a minute, holding its stdout and stderr open (a pipe reading them,
    ``autorl tune | tee log``, waited for it)."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def death_message(exitcode: int | None, elapsed_s: float, who: str = "the trial's process") -> str:
    """What the exit status of a child that sent no result says about its end."""
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        hint = _SIGNAL_HINTS.get(number, "")
        how = f"was killed by {name} (signal {number}){f': {hint}' if hint else ''}"
    else:
        how = f"exited with status {exitcode} without a result"
    return f"{who} {how}, after {elapsed_s:.1f} s"


class _PipeLogHandler(logging.Handler):
    """In the child: every log record goes to the worker, which logs it as its own."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self._conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg, record.args = record.getMessage(), None
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            self._conn.send(("log", record))
        except Exception:  # a log line is never worth a training run
            pass


def _portable(exc: BaseException, where: str = "the trial's process") -> BaseException:
    """``exc`` as it can cross the pipe, with the child's traceback as a note."""
    text = "".join(traceback.format_exception(exc)).rstrip()
    try:
        copy = pickle.loads(pickle.dumps(exc))
    except Exception:
        copy = RuntimeError(f"{type(exc).__name__}: {exc}")
    copy.add_note(f"in {where}:\n{text}")
    return copy


def _exit_with(worker_pid: int) -> None:
    """In the child: end it once its worker is gone (a SIGKILLed worker cannot kill it)."""
    while True:
        time.sleep(WATCH_S)
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def _child_main(conn: Connection, job: _Job) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a stop is the worker's: it ends this process
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with, args=(job.worker_pid,), daemon=True).start()
    root = logging.getLogger()
    root.handlers[:] = [_PipeLogHandler(conn)]
    root.setLevel(job.log_level)
    if job.memory_mb is not None:
        import resource

        limit = job.memory_mb * 2**20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    if job.threads is not None:
        import torch

        torch.set_num_threads(job.threads)

    def report(step: int, value: float) -> bool:
        _send_or_exit(conn, ("report", step, value))
        try:
            return bool(conn.recv())
        except (EOFError, OSError):
            os._exit(1)  # the worker stopped or died: nobody is left to train for

    try:
        result = job.train(job.spec, report if job.reports else None)
        _send_or_exit(conn, ("result", result))
    except TrialFailure as exc:
        _send_or_exit(conn, ("failure", exc.reason.value, exc.message))
    except (SystemExit, KeyboardInterrupt) as exc:
        what = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else "was stopped"
        _send_or_exit(conn, ("failure", FailureReason.CRASHED.value, f"the trial's process {what}"))
    except BaseException as exc:
        _send_or_exit(conn, ("error", _portable(exc)))
    finally:
        conn.close()


def _send_or_exit(conn: Connection, message: tuple[Any, ...]) -> None:
    """Send to the worker; end this process quietly if the worker has closed its end (a stop:
    the worker kills the child anyway, and a traceback here would only be noise)."""
    try:
        conn.send(message)
    except OSError:  # BrokenPipeError, ConnectionResetError
        os._exit(1)


@dataclass(frozen=True)
class _Job:
    train: TrainFn
    spec: TrainSpec
    reports: bool
    memory_mb: int | None
    threads: int | None
    log_level: int
    worker_pid: int


class IsolatedTrain:
    """A ``TrainFn`` that runs ``train`` (a picklable, module-level function) in a child;
    also any such function of a ``TrainSpec`` whose result pickles (a policy's cost:
    ``autorl.training.measure_cost``)."""

    def __init__(self, train: TrainFn, memory_mb: int | None = None) -> None:
        self.train = train
        self.memory_mb = memory_mb

    def __call__(self, spec: TrainSpec, report: Report | None = None) -> SeedResult:
        if multiprocessing.current_process().daemon:  # e.g. a process pool's worker
            log.debug("a daemonic process cannot start children: training in this one")
            return self.train(spec, report)
        threads = threads_setting()
        if threads is None and "torch" in sys.modules:
            threads = sys.modules["torch"].get_num_threads()
        job = _Job(
            self.train,
            spec,
            report is not None,
            self.memory_mb,
            threads,
            logging.getLogger().getEffectiveLevel(),
            os.getpid(),
        )
        ctx = _context()
        ours, theirs = ctx.Pipe()
        child = ctx.Process(target=_child_main, args=(theirs, job), daemon=True)
        began = time.monotonic()
        try:
            child.start()
            theirs.close()
            return self._serve(ours, child, spec, report, began)
        finally:  # also when a stop lands mid-start: no child outlives its call
            _end(child, ours, theirs)

    def _serve(
        self,
        conn: Connection,
        child: Any,
        spec: TrainSpec,
        report: Report | None,
        began: float,
    ) -> SeedResult:
        """Answer the child until it sends its outcome, dies, or runs out of time."""
        while True:
            if not conn.poll(POLL_S):
                raise_if_stopped()
                elapsed = time.monotonic() - began
                if spec.max_wall_s is not None and elapsed > spec.max_wall_s + GRACE_S:
                    raise TrialFailure(
                        FailureReason.TIMEOUT,
                        f"the trial's process did not stop at its wall-clock limit of "
                        f"{spec.max_wall_s:.3g} s and was killed after {elapsed:.1f} s",
                    )
                if child.is_alive() or conn.poll():
                    continue
            try:
                message = conn.recv()
            except EOFError:
                child.join(timeout=10)
                raise TrialFailure(
                    FailureReason.CRASHED, death_message(child.exitcode, time.monotonic() - began)
                ) from None
            kind = message[0]
            if kind == "log":
                record = message[1]
                logging.getLogger(record.name).handle(record)
            elif kind == "report":
                conn.send(report(message[1], message[2]) if report is not None else True)
            elif kind == "result":
                return message[1]
            elif kind == "failure":
                raise TrialFailure(FailureReason(message[1]), message[2])
            else:
                raise message[1]


def _end(child: Any, *conns: Connection) -> None:
    """Close the pipe's ends and make sure the child is gone."""
    for conn in conns:
        conn.close()
    if child.pid is not None:
        if child.is_alive():
            child.kill()
        child.join(timeout=10)


class ProcessDied(Exception):
    """A call made apart (``call_apart``) ended its process without an answer."""


def _apart_main(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a stop is the caller's: it ends this process
    try:
        conn.send(("result", fn(*args)))
    except BaseException as exc:
        conn.send(("error", _portable(exc, "the checking process")))
    finally:
        conn.close()


def call_apart(fn: Callable[..., Any], *args: Any, timeout_s: float = 600.0) -> Any:
    """``fn(*args)`` in a forked child: its return value, or its exception raised here.

    For work on user code that must not take the caller down (a new environment checked at
    submission, in the CLI or the API server): a child that dies raises ``ProcessDied``
    naming the signal or status; one still running after ``timeout_s`` is killed and raises
    it too. Forked, so the child sees what this process registered (gymnasium ids, imported
    entry points). In this process where there is no fork, in a daemonic process, or with
    ``AUTORL_TRIAL_ISOLATION=0``.
    """
    from autorl import settings

    if (
        "fork" not in multiprocessing.get_all_start_methods()
        or multiprocessing.current_process().daemon
        or not settings.current().trial_isolation
    ):
        return fn(*args)
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_apart_main, args=(theirs, fn, args), daemon=True)
    began = time.monotonic()
    try:
        child.start()
        theirs.close()
        while not ours.poll(POLL_S):
            raise_if_stopped()
            if not child.is_alive() and not ours.poll():
                break
            if time.monotonic() - began > timeout_s:
                raise ProcessDied(f"the checking process did not finish in {timeout_s:.0f} s")
        try:
            kind, value = ours.recv()
        except EOFError:
            child.join(timeout=10)
            who = "the checking process"
            raise ProcessDied(
                death_message(child.exitcode, time.monotonic() - began, who)
            ) from None
        if kind == "error":
            raise value
        return value
    finally:
        _end(child, ours, theirs)
