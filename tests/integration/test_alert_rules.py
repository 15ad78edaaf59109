"""deploy/alerts.yaml: valid rules (`promtool check rules`), each alert firing on the series of
deploy/alerts_test.yaml (`promtool test rules`), on metrics the code exports."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from tests.helpers.paths import ALERT_RULES, ALERT_RULES_TESTS

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="needs promtool, from the Debian package prometheus "
    "(make test installs it when run as root)",
)
_METRIC_NAME = re.compile(r"\b(?:orderhub|http_server)_[a-z_]+")
_SAMPLE_SUFFIX = re.compile(r"_(?:total|count|sum|bucket)$")


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_the_rules_are_valid() -> None:
    checked = _promtool("check", "rules", str(ALERT_RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout


@needs_promtool
def test_each_alert_fires_on_its_series() -> None:
    tested = _promtool("test", "rules", str(ALERT_RULES_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_rules_name_only_metrics_the_code_exports() -> None:
    exported = {family.name for family in text_string_to_metric_families(metrics.render().decode())}
    exported |= {metrics.INBOUND_QUEUE_ENTRIES, metrics.INBOUND_OLDEST_QUEUED_AGE}
    exported |= {metrics.WORKERS_ALIVE, metrics.BREAKER_STATE, metrics.EVENT_OLDEST_PENDING_AGE}
    exported |= {metrics.EVENT_WORKERS_ALIVE}
    named = {_SAMPLE_SUFFIX.sub("", name) for name in _METRIC_NAME.findall(ALERT_RULES.read_text())}
    assert named, "the rules name no OrderHub metric"
    assert named <= exported, named - exported
