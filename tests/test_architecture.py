"""The import directions of docs/architecture.md, read from every module's source (ast).

Each layer (a subpackage, or a top module such as app.settings) may import only the layers listed
for it. Imports inside ``if TYPE_CHECKING:`` are not imports at run time and are skipped. Imports
inside a function body are lazy: they do not load with the module, so a few are allowed there
only (LAZY), e.g. the app factory's admin command importing app.admin when an operator runs it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.settings import REPO_ROOT


# layer -> the project layers it may import at module level (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "model.progress": set(),  # the one progress line (stdlib only)
    "model.imageops": set(),  # 3x3 dilation / erosion (NumPy only), for augmentation and preprocessing
    "model.nn": set(),
    "model.imaging": {"model.artifacts", "model.imageops"},  # MNIST-style preprocessing, for serving and training
    "model.data": {"model.progress", "model.imaging"},
    "model.artifacts": {"model.nn", "model.data"},
    "model.training": {"model.nn", "model.data", "model.artifacts", "model.imageops", "model.progress"},
    "model.cli": {"model.nn", "model.data", "model.artifacts", "model.training", "model.imageops",
                  "model.progress"},
    "model": set(),  # the package __init__
    "app.settings": set(),
    "app.imaging": {"app.settings", "model.artifacts", "model.imageops", "model.imaging"},
    "app.shared": set(),  # the PostgreSQL database several servers share (pool, schema)
    "app.feedback": {"app.settings", "app.shared"},
    "app.serving": {"app.settings", "app.shared", "model.nn", "model.artifacts"},
    "app.middleware": {"app.settings", "app.serving"},
    "app.routes": {"app.settings", "app.imaging", "app.feedback", "app.serving", "app.middleware",
                   "model.nn", "model.artifacts"},
    "app.factory": {"app.settings", "app.middleware", "app.routes", "app.serving"},
    "app.deploy": {"app.settings"},
    "app.admin": {"app.settings", "app.shared", "app.imaging", "app.feedback", "app.serving", "model.nn", "model.data",
                  "model.artifacts", "model.training", "model.cli", "model.imageops", "model.progress"},
    "app": set(),
}
# Extra edges allowed only inside a function body (loaded when called, never with the module).
LAZY: dict[str, set[str]] = {
    "app": {"app.factory"},  # create_app() imports the factory on first call
    "app.factory": {"app.admin"},  # `flask --app app admin` loads the operator CLI when it runs
    "app.deploy": {"app.middleware", "app.serving"},  # gunicorn hooks, in the master / after fork
}
# model/ is a library of its own: never the web framework.
FORBIDDEN_EXTERNAL = {"model": {"flask", "werkzeug", "gunicorn", "prometheus_client", "flask_limiter"}}
# Known breaks of the rules, each to be removed by the change that fixes it (the test fails when
# an entry no longer occurs, so the list cannot go stale).
KNOWN_BREAKS: set[tuple[str, str]] = set()  # none today


def layer_of(module: str) -> str:
    """The layer a module belongs to: its subpackage (app.routes) or top module (app.settings);
    a model ``__main__`` (``python -m model.data``) is a front end, in model.cli's layer."""
    parts = module.split(".")
    if parts[0] == "model" and parts[-1] == "__main__":
        return "model.cli"
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(tree: ast.AST, in_function: bool = False):
    """(imported module, inside a function?) for every run-time import in the tree."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and is_type_checking(node):
            yield from (item for child in node.orelse for item in imports(ast.Module([child], []), in_function))
            continue
        if isinstance(node, ast.Import):
            yield from ((alias.name, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, in_function
        yield from imports(node, in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))


def project_modules(*roots: str) -> list[tuple[str, Path]]:
    return sorted((module_name(p), p) for root in roots for p in (REPO_ROOT / root).rglob("*.py"))


def breaks(roots: tuple[str, ...] = ("app", "model")) -> set[tuple[str, str]]:
    """Every (module, imported) pair that the rules above do not allow."""
    found = set()
    for module, path in project_modules(*roots):
        layer = layer_of(module)
        assert layer in ALLOWED, f"{module}: layer {layer} has no rule in ALLOWED (add it and to docs/architecture.md)"
        for imported, lazy in imports(ast.parse(path.read_text(encoding="utf-8"))):
            top = imported.split(".")[0]
            if top in FORBIDDEN_EXTERNAL.get(module.split(".")[0], ()):
                found.add((module, imported))
            if top not in ("app", "model"):
                continue
            target = layer_of(imported)
            ok = ALLOWED[layer] | {layer} | (LAZY.get(layer, set()) if lazy else set())
            if target not in ok and imported not in ok:
                found.add((module, imported))
    return found


def test_every_import_follows_the_layer_rules() -> None:
    assert breaks() - KNOWN_BREAKS == set()


def test_the_known_breaks_still_exist() -> None:
    """When a known break is fixed, remove it from KNOWN_BREAKS (and docs/architecture.md)."""
    assert KNOWN_BREAKS - breaks() == set()


@pytest.mark.parametrize("root", ["app", "model", "bench", "testkit"])
def test_nothing_outside_the_tests_imports_the_tests(root: str) -> None:
    offenders = [(module, imported) for module, path in project_modules(root)
                 for imported, _ in imports(ast.parse(path.read_text(encoding="utf-8")))
                 if imported.split(".")[0] == "tests" or (root in ("app", "model") and
                                                          imported.split(".")[0] in ("testkit", "bench"))]
    assert offenders == []


def test_a_broken_rule_is_seen() -> None:
    """The checker itself: a serving module importing training code is reported."""
    tree = ast.parse("import numpy\nfrom model.training.train import train\n\ndef f():\n    import app.admin\n")
    assert ("model.training.train", False) in list(imports(tree)) and ("app.admin", True) in list(imports(tree))
    layer = layer_of("app.serving.model_holder")
    assert layer_of("model.training.train") not in ALLOWED[layer]
