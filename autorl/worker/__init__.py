"""``autorl worker``: a long-running process that serves every study of a storage."""

from autorl.worker.loop import WorkerSettings, serve
from autorl.worker.scheduler import next_study

__all__ = ["WorkerSettings", "next_study", "serve"]
