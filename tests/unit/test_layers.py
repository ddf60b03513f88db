"""The package's dependency direction (README "Layout"), read from every import statement
(module level and inside functions) of ``autorl/``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "autorl"

# Each layer may import the layers below it, never one above. Within a layer, anything.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("interfaces", ("autorl.cli", "autorl.api", "autorl.client", "autorl.__main__")),
    ("service", ("autorl.service", "autorl.meta.eval")),
    ("runtime", ("autorl.runtime", "autorl.report", "autorl.compress")),
    ("knowledge", ("autorl.knowledge",)),
    ("study", ("autorl.study", "autorl.families")),
    (
        "foundations",
        (
            "autorl.training",
            "autorl.envs",
            "autorl.db",
            "autorl.meta",
            "autorl.pbt",
            "autorl.spaces",
        ),
    ),
    (
        "base",
        (
            "autorl.types",
            "autorl.errors",
            "autorl.settings",
            "autorl.scoring",
            "autorl.stop",
            "autorl.datafiles",
            "autorl",
        ),
    ),
]


def layer_of(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes if p != "autorl"):
            return rank
    return len(LAYERS) - 1  # ``autorl`` itself


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {
    module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py")) if "_shipped" not in p.parts
}


def test_imports_point_down_the_layers():
    upward = sorted(
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, imported in MODULES.items()
        for target in imported
        if target.startswith("autorl.") and layer_of(target) < layer_of(module)
    )
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize(
    "prefix, forbidden",
    [
        ("autorl.meta", ("optuna", "sqlalchemy", "torch", "stable_baselines3", "autorl.db")),
        ("autorl.envs", ("torch", "stable_baselines3", "autorl.training")),
        ("autorl.spaces", ("torch", "stable_baselines3")),
        ("autorl.pbt", ("optuna", "sqlalchemy", "torch", "stable_baselines3", "autorl.db")),
        # an exported policy runs where only onnxruntime is installed
        ("autorl.compress.onnx_policy", ("torch", "stable_baselines3", "autorl.training")),
    ],
)
def test_pure_packages_import_no_heavy_or_storage_code(prefix, forbidden):
    offending = [
        f"{module} imports {target}"
        for module, imported in MODULES.items()
        if module.startswith(prefix) and not module.startswith("autorl.meta.eval")
        for target in imported
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    ]
    assert not offending, "\n".join(offending)
