"""A fixed pool of configurations sampled uniformly at random from a search space.

Every task of a family is scored on the same pool, which makes the recorded table a grid of
(task, configuration) scores: the ground for comparing warm-start strategies offline.
Usage: python benchmarks/meta/make_pool.py SPACE ACTION_KIND N SEED OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autorl.spaces import load_space
from autorl.study.enqueue import sample_configurations


def main() -> None:
    space_name, kind, n, seed, out = sys.argv[1:6]
    pool = sample_configurations(load_space(space_name), kind, int(n), int(seed))
    Path(out).write_text(json.dumps(pool, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(pool)} configurations to {out}")


if __name__ == "__main__":
    main()
