"""Running studies: claim a trial, train its seeds, store the outcome; the worker loop, the
in-process and multi-process runs of ``autorl tune``, validation, and surviving outages,
signals and dead workers."""
