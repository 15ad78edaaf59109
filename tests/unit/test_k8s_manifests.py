"""deploy/k8s/ against the schemas of a pinned Kubernetes version (kubernetes-validate ships
them: nothing is fetched), strictly, then what the schemas cannot say: probes, requests and
limits, a non-root read-only container, autoscaling and disruption budgets where asked, a
shutdown that fits in the grace period, and settings that OrderHub reads."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.settings import SETTINGS, Settings
from tests.helpers.deploy_files import (
    dockerfile,
    final_stage,
    orderhub_command_error,
    yaml_documents,
)
from tests.helpers.paths import DEPLOY

KUBERNETES_VERSION = "1.30.0"
K8S = DEPLOY / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"
MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path != KUSTOMIZATION)
QUEUE_AGE = "orderhub_inbound_oldest_queued_age_seconds"
SHUTDOWN = "ORDERHUB_SHUTDOWN_SECONDS"
KNOWN_SETTINGS = {setting.env for setting in SETTINGS}


def documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in MANIFESTS for doc in yaml_documents(path)]


def one(kind: str, name: str) -> dict[str, Any]:
    found = [
        doc for _, doc in documents() if doc["kind"] == kind and doc["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in documents() if doc["kind"] == kind]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def config() -> dict[str, str]:
    data: dict[str, str] = one("ConfigMap", "orderhub")["data"]
    return data


def selects(selector: dict[str, Any], workload: dict[str, Any]) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    match = selector.get("matchLabels", selector)
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_each_manifest_is_valid_for_the_pinned_kubernetes_strictly(path: Path) -> None:
    for doc in yaml_documents(path):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_strict_validation_refuses_an_unknown_field() -> None:
    deployment = copy.deepcopy(one("Deployment", "orderhub-api"))
    pod_spec(deployment)["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomize_applies_everything_but_the_migration_job() -> None:
    listed = set(yaml.safe_load(KUSTOMIZATION.read_text())["resources"])
    assert listed == {path.name for path in MANIFESTS} - {"migrate.yaml"}
    assert one("Job", "orderhub-db-migrate")


def test_every_container_has_requests_limits_and_a_locked_down_context() -> None:
    user = final_stage(dockerfile(DEPLOY / "Dockerfile"))
    uid = int([i for i in user if i.keyword == "USER"][-1].arguments.split(":")[0])
    workloads = of_kind("Deployment") + of_kind("Job")
    assert len(workloads) == 4
    for workload in workloads:
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == uid, name
        for container in spec["containers"]:
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), (name, kind)
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: a read-only root needs a writable /tmp"
            assert orderhub_command_error(container["command"]) is None, name
            assert {"configMapRef": {"name": "orderhub"}} in container["envFrom"], name
            assert {"secretRef": {"name": "orderhub"}} in container["envFrom"], name


def test_the_api_is_probed_on_its_port_and_stops_within_its_grace_period() -> None:
    api = one("Deployment", "orderhub-api")
    spec = pod_spec(api)
    (container,) = spec["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": int(config()["PORT"])}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    shutdown = float(config()[SHUTDOWN])
    assert spec["terminationGracePeriodSeconds"] > float(pause[1]) + shutdown
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == config()["PORT"]
    assert annotations["prometheus.io/path"] == "/metrics"


def test_the_service_reaches_the_api_pods() -> None:
    service = one("Service", "orderhub-api")
    assert selects(service["spec"]["selector"], one("Deployment", "orderhub-api"))
    assert not selects(service["spec"]["selector"], one("Deployment", "orderhub-worker"))
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]


def test_the_api_scales_on_cpu_and_the_workers_on_the_queues_age() -> None:
    api = one("HorizontalPodAutoscaler", "orderhub-api")["spec"]
    assert api["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "orderhub-api",
    }
    assert [m["resource"]["name"] for m in api["metrics"] if m["type"] == "Resource"] == ["cpu"]
    worker = one("HorizontalPodAutoscaler", "orderhub-worker")["spec"]
    assert worker["scaleTargetRef"]["name"] == "orderhub-worker"
    (metric,) = worker["metrics"]
    assert metric["type"] == "External" and metric["external"]["metric"]["name"] == QUEUE_AGE
    for hpa in (api, worker):
        assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]


def test_prometheus_adapter_serves_the_metric_the_workers_scale_on() -> None:
    values = yaml.safe_load((DEPLOY / "prometheus-adapter-values.yaml").read_text())
    (rule,) = values["rules"]["external"]
    assert QUEUE_AGE in rule["seriesQuery"]
    assert re.fullmatch(rule["name"]["matches"], QUEUE_AGE)
    assert rule["name"]["as"] == QUEUE_AGE
    assert rule["metricsQuery"].startswith("max(")


def test_the_api_exports_the_metric_the_workers_scale_on() -> None:
    metrics = pytest.importorskip("app.metrics", reason="no app.metrics: the API has no /metrics")
    assert metrics.INBOUND_OLDEST_QUEUED_AGE == QUEUE_AGE


def test_each_deployment_has_a_disruption_budget_selecting_it() -> None:
    budgets = of_kind("PodDisruptionBudget")
    for deployment in of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        mine = [b for b in budgets if selects(b["spec"]["selector"], deployment)]
        assert len(mine) == 1, f"{name}: {len(mine)} disruption budgets"
        assert mine[0]["spec"].get("maxUnavailable") == 1 or mine[0]["spec"].get("minAvailable")


def test_order_work_and_event_delivery_run_in_deployments_of_their_own() -> None:
    commands = {
        name: pod_spec(one("Deployment", name))["containers"][0]["command"]
        for name in ("orderhub-worker", "orderhub-events-worker")
    }
    assert commands == {
        "orderhub-worker": ["orderhub", "worker", "--jobs", "orders"],
        "orderhub-events-worker": ["orderhub", "worker", "--jobs", "events"],
    }
    api, worker, events = (
        one("Deployment", name)
        for name in ("orderhub-api", "orderhub-worker", "orderhub-events-worker")
    )
    assert not selects(worker["spec"]["selector"], events)
    assert not selects(events["spec"]["selector"], worker)
    assert not selects(api["spec"]["selector"], events)


def test_the_workers_get_longer_than_their_jobs_are_given() -> None:
    spec = pod_spec(one("Deployment", "orderhub-worker"))
    assert spec["terminationGracePeriodSeconds"] > float(config()[SHUTDOWN])


def test_the_config_map_holds_known_settings_and_no_secret() -> None:
    data = config()
    assert set(data) <= KNOWN_SETTINGS, set(data) - KNOWN_SETTINGS
    for key, value in data.items():
        assert "PASSWORD" not in key and key not in {"DATABASE_URL", "REDIS_URL"}, key
        assert not re.search(r"://[^/@]*:[^/@]*@", value), f"{key} carries credentials"


def test_the_secret_holds_placeholders_that_parse_as_settings() -> None:
    secret = one("Secret", "orderhub")["stringData"]
    assert {"DATABASE_URL", "REDIS_URL"} <= set(secret)
    for key, value in secret.items():
        assert "REPLACE-ME" in value, f"{key} is not a placeholder"
    settings = Settings.from_env({**config(), **secret})
    settings.require_servers()
