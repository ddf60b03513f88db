"""Task families as data: a YAML file lists the variants of one environment."""

from autorl.families.schema import (
    Family,
    FamilyTask,
    load_family,
    parse_family,
    shipped_families,
)

__all__ = ["Family", "FamilyTask", "load_family", "parse_family", "shipped_families"]
