"""Reading a Prometheus text exposition back: one sample's value by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample; the parser refuses text that isn't the exposition format."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 when there is none yet (a counter or histogram not touched)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    found = set()
    for sample_name, labels in samples:
        by_name = dict(labels)
        if sample_name == name and label in by_name:
            found.add(by_name[label])
    return found
