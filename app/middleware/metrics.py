"""Prometheus metrics (prometheus_client) and GET /metrics in the text exposition format.

Each app gets its own CollectorRegistry, so apps built by tests never share counters. Under
gunicorn, app/deploy/gunicorn_conf.py points PROMETHEUS_MULTIPROC_DIR at a folder as the master reads
it, before anything imports prometheus_client: every worker then writes its values to files
there, and /metrics, whichever worker answers it, adds up all of them (multiprocess mode).
"""
from __future__ import annotations

import logging
import os
from typing import Any

from flask import Blueprint, Flask, Response, current_app
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess, values

from app.serving.model_holder import ModelHolder

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Most requests take 1-10 ms; slow ones (a big photo, a loaded box) up to seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

bp = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)


class Metrics:
    """The service's metrics, registered in one registry per app."""

    def __init__(self, registry: CollectorRegistry | None = None, multiproc_dir: str | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.multiproc_dir = multiproc_dir
        r = self.registry
        self.requests = Counter("digit_canvas_http_requests", "HTTP requests answered",
                                ["endpoint", "method", "status"], registry=r)
        self.latency = Histogram("digit_canvas_http_request_duration_seconds",
                                 "Time from the request reaching the app to its response", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("digit_canvas_predictions", "Predictions answered, by digit", ["digit"],
                                   registry=r)
        self.model_info = Gauge("digit_canvas_model_info", "1 for the model version a worker serves",
                                ["version"], multiprocess_mode="liveall", registry=r)
        self.reloads = Counter("digit_canvas_model_reloads", "Attempts to load a changed model file (a promotion)",
                               ["result"], registry=r)
        self.rejected = Counter("digit_canvas_rejected_inputs", "Requests to /predict and /feedback refused with "
                                "a 4xx, by error code", ["code"], registry=r)
        self.model_version: str | None = None
        # Labelled children by label values: prometheus_client's labels() validates and locks on
        # every call (about 1.5 us each, three or four times per request); a dict lookup does not.
        self._children: dict[tuple, Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """metric.labels(*labels), looked up once per distinct label values."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def serving(self, version: str | None) -> None:
        """Mark `version` as the model this process serves (and the previous one as no longer)."""
        if version == self.model_version:
            return
        if self.model_version is not None:
            self.model_info.labels(self.model_version).set(0)
        if version is not None:
            self.model_info.labels(version).set(1)
        self.model_version = version

    def reloaded(self, result: str) -> None:
        """A model holder's report: "ok" (the new file serves) or "refused" (the old model stays)."""
        self.reloads.labels(result).inc()

    def exposition(self) -> bytes:
        """The text format; in multiprocess mode, the sum over every worker's files."""
        if self.multiproc_dir is None:
            return generate_latest(self.registry)
        everything = CollectorRegistry()
        multiprocess.MultiProcessCollector(everything, path=self.multiproc_dir)
        return generate_latest(everything)


def served_version(holder: ModelHolder) -> str | None:
    """The version a model holder serves; None for a worker that has no servable model."""
    model = holder.current
    return model.version if model is not None else None


def count_prediction(digit: int) -> None:
    metrics = current_app.extensions["metrics"]
    metrics.child(metrics.predictions, DIGIT_LABELS[digit]).inc()


DIGIT_LABELS = tuple(str(d) for d in range(10))


@bp.get("/metrics")
def metrics() -> Response:
    return Response(current_app.extensions["metrics"].exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def init_app(app: Flask) -> Metrics:
    """Metrics for this app; multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (gunicorn)."""
    multiproc_dir = os.environ.get(MULTIPROC_ENV) or None
    if multiproc_dir and not values.ValueClass._multiprocess:  # the variable came too late
        log.error("%s was set after prometheus_client was imported: /metrics shows this worker only",
                  MULTIPROC_ENV)
        multiproc_dir = None
    metrics = Metrics(multiproc_dir=multiproc_dir)
    app.extensions["metrics"] = metrics
    app.register_blueprint(bp)
    return metrics
