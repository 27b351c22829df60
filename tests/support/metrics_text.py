"""Reading /metrics the way Prometheus does (prometheus_client's own text parser)."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample_total(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels` (e.g. over every worker)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def label_values(text: str, name: str, label: str) -> set[str]:
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and label in sample.labels
    }
