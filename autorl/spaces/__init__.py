"""Search spaces as data: load and validate YAML, sample with a trial, resolve to a TrainConfig.

Imports only pydantic, yaml and autorl's plain modules (never torch, SB3 or Optuna): the API
process validates spaces without them. The YAML format is described in search_spaces/README.md.
"""

from autorl.spaces.catalog import ACTION_SPACE_KINDS, ALGORITHMS
from autorl.spaces.constraints import CONSTRAINTS
from autorl.spaces.loader import available_spaces, load_space, space_path
from autorl.spaces.space import Resolution, SearchSpace

__all__ = [
    "ACTION_SPACE_KINDS",
    "ALGORITHMS",
    "CONSTRAINTS",
    "Resolution",
    "SearchSpace",
    "available_spaces",
    "load_space",
    "space_path",
]
