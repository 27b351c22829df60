"""GET /model: a page about the served model, drawn from its card and the model registry.

The figures are the SVGs of model/artifacts/plots.py (the same ones `python -m app.admin
report` writes to files), inlined so the page needs no other request and nothing from elsewhere.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from markupsafe import Markup

from app.routes.predict import current_model
from app.serving.model_registry import SHIPPED, ModelRegistry, RegistryError
from model.artifacts.plots import card_figures, evaluation, most_confused

bp = Blueprint("model_page", __name__)


@bp.get("/model")
def model_page() -> str:
    model = current_model()
    card = model.card or {}
    registry: ModelRegistry | None = current_app.extensions["model_holder"].registry
    return render_template("model.html", **page_context(card, model.version, model.network.spec, registry))


def page_context(card: dict[str, Any], version: str, spec: dict[str, Any],
                 registry: ModelRegistry | None) -> dict[str, Any]:
    """Everything model.html shows (also used by the admin report)."""
    found = evaluation(card)
    name, report = found if found else ("", {})
    figures = {k: Markup(v) for k, v in card_figures(card).items()}  # built and escaped by plots.py
    return {
        "version": version,
        "card": card,
        "layers": [spec["input_size"], *spec["hidden_sizes"], spec["num_classes"]],
        "spec": spec,
        "parameters": card.get("architecture", {}).get("parameters"),
        "evaluation_name": name,
        "report": report,
        "confused": most_confused(report["confusion_matrix"]) if report.get("confusion_matrix") else [],
        "figures": figures,
        "reliability": [k for k in figures if k.startswith("reliability")],
        **registry_rows(registry),
    }


def registry_rows(registry: ModelRegistry | None) -> dict[str, Any]:
    """The versions and the promotion history; none (and why) if the registry cannot be read
    (a shared database that is down must not take the page down with it)."""
    if registry is None:
        return {"versions": [], "history": [], "registry_error": ""}
    try:
        return {"versions": version_rows(registry), "history": history_rows(registry), "registry_error": ""}
    except RegistryError as exc:
        return {"versions": [], "history": [], "registry_error": str(exc)}


def version_rows(registry: ModelRegistry) -> list[dict[str, Any]]:
    """Each version with its figures and its gate: what it scored against the model it was to replace."""
    try:
        active = registry.active_version()
    except RegistryError:
        active = None
    rows = []
    for name in [SHIPPED, *registry.versions()]:
        card = registry.card(name)
        gate = card.get("gate") if isinstance(card.get("gate"), dict) else {}
        rows.append({
            "name": name, "active": name == active, "created_at": card.get("created_at", ""),
            "version": card.get("version", ""), "test_accuracy": card.get("test_accuracy"),
            "validation_accuracy": card.get("validation_accuracy"),
            "gate_sets": [(set_name, figures) for set_name, figures in (gate.get("sets") or {}).items()
                          if isinstance(figures, dict)],
            "gate_passed": gate.get("passed"), "gate_decision": gate.get("decision", ""),
            "gate_reasons": gate.get("reasons") or [], "gate_against": gate.get("active_version", ""),
        })
    return rows


def history_rows(registry: ModelRegistry) -> list[dict[str, Any]]:
    return [event for event in registry.history()[-20:] if isinstance(event, dict)][::-1]
