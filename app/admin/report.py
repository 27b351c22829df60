"""``python -m app.admin report [--version V] [--out DIR]``: the plots of the /model page as files.

Writes every figure the version's model card supports (loss.svg, accuracy.svg, confusion.svg,
per_class.svg, reliability*.svg) and summary.txt (architecture, accuracy, the most confused
pairs, every version with its gate figures) into DIR. The figures are those of
model/artifacts/plots.py, byte for byte what GET /model inlines.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.admin.text_table import format_table
from app.serving.model_registry import SHIPPED, ModelRegistry, RegistryError
from model.artifacts.plots import card_figures, evaluation, most_confused


def points(value: Any) -> str:
    return f"{100 * float(value):.2f}%" if isinstance(value, (int, float)) else "-"


def summary(registry: ModelRegistry, version: str, card: dict[str, Any]) -> str:
    """The report's text: what the /model page says, as plain text."""
    arch = card.get("architecture", {})
    layers = arch.get("layers") or []
    lines = [f"model {version}" + (f" ({card['version']})" if card.get("version") and card["version"] != version else ""),
             f"layers {' -> '.join(str(n) for n in layers)}, {arch.get('activation', '?')}, "
             f"{arch.get('parameters', '?')} parameters" if layers else "architecture: not in the card",
             f"MNIST test {points(card.get('test_accuracy'))}, validation {points(card.get('validation_accuracy'))}"]
    found = evaluation(card)
    if found:
        name, report = found
        pairs = most_confused(report["confusion_matrix"])
        lines += ["", f"most confused pairs ({name} set):",
                  format_table(["true", "read as", "times"], [(a, b, c) for a, b, c in pairs])]
    active = registry.active_version()
    rows = []
    for name in registry_versions(registry):
        other = registry.card(name)
        gate = other.get("gate") or {}
        sets = "; ".join(f"{s} {points(f.get('active'))} -> {points(f.get('candidate'))}"
                         for s, f in (gate.get("sets") or {}).items() if isinstance(f, dict))
        verdict = "" if not gate else ("passed" if gate.get("passed") else "refused")
        rows.append(("*" if name == active else "", name, other.get("created_at", ""),
                     points(other.get("test_accuracy")), f"{verdict} {sets}".strip() or "-"))
    lines += ["", "versions (* served):", format_table(["", "version", "created", "MNIST test", "gate"], rows)]
    return "\n".join(lines) + "\n"


def registry_versions(registry: ModelRegistry) -> list[str]:
    return [SHIPPED, *registry.versions()]


def write_report(registry: ModelRegistry, version: str | None, out: Path) -> list[Path]:
    """Write the figures and summary.txt for ``version`` (default: the served one) into ``out``."""
    version = version or registry.active_version()
    if version not in registry_versions(registry):
        raise RegistryError(f"no version {version!r}; see `python -m app.admin models list`")
    card = registry.card(version)
    if not card:
        raise RegistryError(f"version {version!r} has no readable model card ({registry.path_of(version).with_suffix('.json')})")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, svg in card_figures(card).items():
        path = out / f"{stem}.svg"
        path.write_text(svg + "\n", encoding="utf-8")
        written.append(path)
    path = out / "summary.txt"
    path.write_text(summary(registry, version, card), encoding="utf-8")
    return [*written, path]


def cmd_report(args: argparse.Namespace, registry: ModelRegistry) -> int:
    """The admin command: ``args`` holds version (or None) and out; ``registry`` is the admin's
    (the shared database's when one is configured, else the instance folder's)."""
    written = write_report(registry, args.version, Path(args.out))
    for path in written:
        print(path)
    return 0
