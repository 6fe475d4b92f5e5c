"""Reading what a process serves on its Prometheus metrics port."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

#: A scrape of a local process answers in milliseconds; this only bounds a hung one.
SCRAPE_TIMEOUT_S = 10.0


def served_metric(port: int, name: str) -> float:
    """The sample ``name`` served on ``port`` (added up over its labels; 0 if absent)."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as response:
        text = response.read().decode()
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )
