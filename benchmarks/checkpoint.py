"""Fold SQLite write-ahead logs into the database files, so the committed files are whole.

Usage (before committing a benchmark's state): python benchmarks/checkpoint.py FILE.db ...
"""

from __future__ import annotations

import sqlite3
import sys


def main() -> None:
    for path in sys.argv[1:]:
        with sqlite3.connect(path, timeout=60) as conn:
            busy, log_pages, done = conn.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
        print(f"{path}: {done}/{log_pages} WAL pages folded in" + (" (busy)" if busy else ""))


if __name__ == "__main__":
    main()
