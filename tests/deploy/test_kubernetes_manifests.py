"""deploy/kubernetes, checked without a cluster: what `kubectl apply` and the pods would do.

Every object validates against the Kubernetes API's schema of KUBERNETES_VERSION (the copies
the kubernetes-validate package ships), strictly: an unknown or misspelt field fails. Then
what an operator would notice: each service's pods start in production on the variables
they are given (the services' own settings load them), listen where the probes and the
Services look, are probed without a dependency for liveness and with them for readiness,
run unprivileged on a read-only root file system, have resources, a disruption budget, and
take every secret from a Secret; the gateway scales on CPU; the migrations run first.
Rendering: tests/support/kubernetes.py.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import re
from typing import Any

import kubernetes_validate
import pytest
from support.kubernetes import KUBERNETES, containers, load_documents, pod_spec, render

from telecast_libs.settings import SettingsError, load_settings

# The oldest Kubernetes the manifests are written for (preStop `sleep` is on by default from
# 1.30 on).
KUBERNETES_VERSION = "1.30.0"

SERVICES = {
    "gateway": ("telecast_gateway", "telecast_gateway.settings", "GatewaySettings"),
    "campaign": ("telecast_campaign", "telecast_campaign.settings", "CampaignSettings"),
    "projection": ("telecast_projection", "telecast_projection.settings", "ProjectionSettings"),
    "dispatcher": ("telecast_dispatcher", "telecast_dispatcher.settings", "DispatcherSettings"),
}

# Variables a container is given that its settings do not read: uvicorn reads
# FORWARDED_ALLOW_IPS itself.
READ_ELSEWHERE = {"FORWARDED_ALLOW_IPS"}
# Given ahead of the NATS authorization work (each service its own NATS user, signed
# commands), which reads them; once it has landed every one is a setting: empty this set.
NATS_PASSWORD = re.compile(r"^NATS_[A-Z]+_PASSWORD$")

# Variable names that hold secrets: they must come from a Secret, never a literal.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|_HASH$|SESSION|DATABASE_URL|CREDENTIAL")
# A URL with a password in it (scheme://user:password@host).
URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]+:[^/@\s]+@")

# Stand-ins for what the Secrets hold, valid in form, for loading the services' settings.
EXAMPLE_SECRETS = {
    "uri": "postgresql://telecast:example-password@telecast-db-rw.telecast:5432/telecast",
    "JWT_SECRET": "j" * 48,
    "TRACKING_SECRET": "t" * 48,
    "DATA_ENCRYPTION_KEY": base64.urlsafe_b64encode(b"k" * 32).decode(),
    "BOOTSTRAP_ADMIN_PASSWORD": "a-long-and-uncommon-passphrase",
    "TELEGRAM_API_ID": "12345",
    "TELEGRAM_API_HASH": "0123456789abcdef0123456789abcdef",
    "TELEGRAM_BOT_TOKENS": "123456:" + "A" * 35,
    # Ed25519 keys: 32 bytes, base64url.
    "GATEWAY_SIGNING_KEY": base64.urlsafe_b64encode(b"g" * 32).decode().rstrip("="),
    "GATEWAY_VERIFY_KEY": base64.urlsafe_b64encode(b"G" * 32).decode().rstrip("="),
    "DISPATCHER_SIGNING_KEY": base64.urlsafe_b64encode(b"d" * 32).decode().rstrip("="),
    "DISPATCHER_VERIFY_KEY": base64.urlsafe_b64encode(b"D" * 32).decode().rstrip("="),
}


def everything() -> list[dict[str, Any]]:
    return (
        render()
        + render(KUBERNETES / "migrate")
        + load_documents(KUBERNETES / "examples" / "ingress.yaml")
    )


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


PLATFORM = render()
DEPLOYMENTS = by_kind(PLATFORM, "Deployment")
CONFIG = by_kind(PLATFORM, "ConfigMap")["telecast-config"]["data"]
MIGRATE = by_kind(render(KUBERNETES / "migrate"), "Job")["telecast-migrate"]


def is_core(obj: dict[str, Any]) -> bool:
    """Of the Kubernetes API's own groups (core, apps, policy, autoscaling, *.k8s.io). The
    custom resources (CloudNativePG, KEDA, the Prometheus Operator) have no schema here:
    test_kubernetes_infrastructure.py checks what telecast relies on in them."""
    group = obj["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


CORE_OBJECTS = [obj for obj in everything() if is_core(obj)]


def the_container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_spec(deployment)["containers"]
    return container


def environment(container: dict[str, Any]) -> dict[str, str]:
    """What the container's process sees: the ConfigMap, its literals, and the Secrets'
    keys (stand-ins; an optional key left out, as when the Secret lacks it)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == "telecast-config"
        env.update(CONFIG)
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
            continue
        ref = variable["valueFrom"]["secretKeyRef"]
        if not ref.get("optional"):
            env[variable["name"]] = EXAMPLE_SECRETS.get(ref["key"], "x" * 40)
    return env


# --- the API's schemas ------------------------------------------------------------------------


def test_every_manifest_beside_the_kustomization_is_listed_in_it():
    """A file beside the others that no kustomization lists would never be applied."""
    listed = set(load_documents(KUBERNETES / "kustomization.yaml")[0]["resources"])
    for path in KUBERNETES.glob("*.yaml"):
        if path.name not in {"kustomization.yaml", "nats-values.yaml"}:
            assert path.name in listed, f"{path.name} is not in kustomization.yaml"


@pytest.mark.parametrize(
    "obj", CORE_OBJECTS, ids=lambda obj: f"{obj['kind']}/{obj['metadata']['name']}"
)
def test_manifest_validates_against_the_kubernetes_schema(obj):
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_core_objects_are_all_there():
    kinds = {(obj["kind"], obj["metadata"]["name"]) for obj in CORE_OBJECTS}
    for service in SERVICES:
        assert ("Deployment", service) in kinds
        assert ("PodDisruptionBudget", service) in kinds
    assert ("HorizontalPodAutoscaler", "gateway") in kinds
    assert ("Job", "telecast-migrate") in kinds
    assert ("Ingress", "telecast") in kinds


def test_no_secret_is_committed():
    """Secrets are made by the operator (docs/kubernetes.md) or CloudNativePG, never here."""
    assert not [obj for obj in everything() if obj["kind"] == "Secret"]


# --- what each service's pods do -----------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_starts_in_production_on_what_it_is_given(service):
    module, settings_module, settings_class = SERVICES[service]
    container = the_container(DEPLOYMENTS[service])
    assert container["command"] == ["python", "-m", module]
    assert importlib.util.find_spec(f"{module}.__main__") is not None
    settings_type = getattr(importlib.import_module(settings_module), settings_class)
    env = environment(container)
    assert env["TELECAST_ENV"] == "production"
    try:
        settings = load_settings(settings_type, env)
    except SettingsError as error:
        pytest.fail(f"{service} would refuse to start: {error}")
    fields = {name.upper() for name in settings_type.__struct_fields__}
    unread = set(env) - fields - READ_ELSEWHERE
    assert not unread, f"{service} reads no such setting: {sorted(unread)}"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    # The operations endpoint (/health, /ready, /metrics) on an address the kubelet reaches.
    assert settings.metrics_host == "0.0.0.0"
    assert ports["metrics"] == settings.metrics_port
    if service == "gateway":
        assert settings.gateway_host == "0.0.0.0"
        assert ports["http"] == settings.gateway_port


@pytest.mark.parametrize("service", SERVICES)
def test_probes_liveness_without_dependencies_readiness_with_them(service):
    container = the_container(DEPLOYMENTS[service])
    ports = {port["name"] for port in container["ports"]}
    probes = {kind: container.get(f"{kind}Probe") for kind in ("liveness", "readiness", "startup")}
    assert all(probes.values()), f"{service} lacks a probe: {probes}"
    # /health answers while the process runs; /ready checks PostgreSQL and NATS. Liveness
    # on /ready would restart every pod during a database outage.
    assert probes["liveness"]["httpGet"]["path"] == "/health"
    assert probes["readiness"]["httpGet"]["path"] == "/ready"
    assert probes["startup"]["httpGet"]["path"] == "/health"
    for probe in probes.values():
        assert probe["httpGet"]["port"] in ports
    startup = probes["startup"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def workload_containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    workloads = [*DEPLOYMENTS.values(), MIGRATE]
    return [(w["metadata"]["name"], pod_spec(w), c) for w in workloads for c in containers(w)]


@pytest.mark.parametrize(
    ("name", "spec", "container"),
    [pytest.param(*each, id=each[0]) for each in workload_containers()],
)
def test_containers_are_unprivileged_read_only_and_bounded(name, spec, container):
    pod = spec["securityContext"]
    own = container["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    assert own["allowPrivilegeEscalation"] is False
    assert own["readOnlyRootFilesystem"] is True
    assert own["capabilities"]["drop"] == ["ALL"]
    assert spec["automountServiceAccountToken"] is False
    # What Python writes goes to a memory-backed scratch folder.
    volumes = {v["name"]: v for v in spec["volumes"]}
    tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert tmp and "emptyDir" in volumes[tmp[0]["name"]]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_disruption_budget_and_rolls_without_losing_capacity(service):
    deployment = DEPLOYMENTS[service]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    budgets = [
        pdb
        for pdb in by_kind(PLATFORM, "PodDisruptionBudget").values()
        if pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ]
    assert len(budgets) == 1
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    rolling = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0
    # Two replicas at least: a budget over one pod would block every node drain.
    hpa = by_kind(PLATFORM, "HorizontalPodAutoscaler").get(service)
    replicas = hpa["spec"]["minReplicas"] if hpa else deployment["spec"]["replicas"]
    assert replicas >= 2


def test_the_gateway_scales_on_cpu_and_its_replicas_are_left_to_the_autoscaler():
    hpa = by_kind(PLATFORM, "HorizontalPodAutoscaler")["gateway"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gateway",
    }
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # Applying the manifests again must not reset what the autoscaler chose.
    assert "replicas" not in DEPLOYMENTS["gateway"]["spec"]
    # Utilization is a share of the request: without one the autoscaler cannot work.
    assert the_container(DEPLOYMENTS["gateway"])["resources"]["requests"]["cpu"]


def test_the_gateway_service_carries_the_api_and_the_console():
    service = by_kind(PLATFORM, "Service")["gateway"]
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "gateway"}
    ports = {port["name"]: port for port in service["spec"]["ports"]}
    assert ports["http"]["targetPort"] == "http"


def test_metrics_are_announced_to_prometheus_on_the_operations_port():
    for service, deployment in DEPLOYMENTS.items():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", service
        assert annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) == int(CONFIG["METRICS_PORT"])


# --- secrets ----------------------------------------------------------------------------------


def test_no_secret_in_a_config_map_or_a_literal():
    for key, value in CONFIG.items():
        assert not SECRET_NAME.search(key), f"ConfigMap key {key} names a secret"
        assert not URL_WITH_PASSWORD.search(value), f"ConfigMap {key} holds a password"
    for name, _, container in workload_containers():
        for variable in container.get("env", []):
            if "value" in variable:
                assert not SECRET_NAME.search(variable["name"]), (name, variable["name"])
                assert not URL_WITH_PASSWORD.search(variable["value"]), (name, variable["name"])
            else:
                assert set(variable["valueFrom"]) == {"secretKeyRef"}, (name, variable)


def test_each_service_gets_only_its_own_nats_password():
    for service, deployment in DEPLOYMENTS.items():
        passwords = {
            variable["name"]
            for variable in the_container(deployment)["env"]
            if NATS_PASSWORD.match(variable["name"])
        }
        assert passwords == {f"NATS_{service.upper()}_PASSWORD"}


# --- the migrations ---------------------------------------------------------------------------


def test_the_migrations_run_every_service_schema_on_the_image_the_services_run():
    (container,) = pod_spec(MIGRATE)["containers"]
    script = " ".join(container["command"])
    for module, _, _ in SERVICES.values():
        assert f"python -m {module} migrate" in script
        # Each module has a history to apply: its `migrate` is the one the services check.
        assert importlib.import_module(f"{module}.migrations").HISTORY.head()
    # The same image and tag as the services: an upgrade migrates with the code it runs.
    images = {the_container(d)["image"] for d in DEPLOYMENTS.values()}
    assert images == {container["image"]}
    assert pod_spec(MIGRATE)["restartPolicy"] == "Never"
    env = {v["name"]: v for v in container["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "telecast-db-app",
        "key": "uri",
    }
    # It needs PostgreSQL only: no NATS password, no application secret.
    assert set(env) == {"TELECAST_ENV", "LOG_FORMAT", "DATABASE_URL"}
