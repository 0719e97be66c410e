"""What deploy/kubernetes asks of the infrastructure, checked offline: the NATS chart's
values, the CloudNativePG cluster, the optional KEDA scaler and ServiceMonitor, the Ingress
example, and the secrets docs/kubernetes.md tells an operator to create.

The NATS chart and the custom resources' definitions cannot be fetched here, so these check
what telecast relies on: API versions and kinds, the fields that must be set, and that the
names each side uses for the other agree (a Secret key, a stream, a Service port, a host).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from support.kubernetes import KUBERNETES, ROOT, load_documents, pod_spec, render

from telecast_libs.subjects import Subjects

PLATFORM = render()
MIGRATE = render(KUBERNETES / "migrate")
NATS_VALUES = load_documents(KUBERNETES / "nats-values.yaml")[0]
SCALER = load_documents(KUBERNETES / "optional" / "dispatcher-scaler.yaml")[0]
SERVICE_MONITOR = load_documents(KUBERNETES / "optional" / "service-monitor.yaml")[0]
INGRESS = load_documents(KUBERNETES / "examples" / "ingress.yaml")[0]
DOCS = (ROOT / "docs" / "kubernetes.md").read_text()
AUTHORIZATION = ROOT / "deploy" / "nats" / "authorization.conf"
SERVICES = ("gateway", "campaign", "projection", "dispatcher")
# The chart's client port (its values' config.nats.port).
NATS_CLIENT_PORT = 4222


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def secret_refs() -> dict[tuple[str, str], bool]:
    """(Secret, key) read by any container of the manifests → whether it is optional."""
    refs: dict[tuple[str, str], bool] = {}
    for obj in [*PLATFORM, *MIGRATE]:
        spec = pod_spec(obj)
        for container in spec.get("containers", []) if spec else []:
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs[(ref["name"], ref["key"])] = bool(ref.get("optional"))
    for variable in NATS_VALUES["container"]["env"].values():
        if isinstance(variable, dict):
            ref = variable["valueFrom"]["secretKeyRef"]
            refs[(ref["name"], ref["key"])] = bool(ref.get("optional"))
    return refs


# --- NATS ---------------------------------------------------------------------------------


def test_nats_is_a_three_server_jetstream_cluster_on_files_with_an_fsync_per_write():
    config = NATS_VALUES["config"]
    assert config["cluster"]["enabled"] is True
    assert config["cluster"]["replicas"] == 3
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert jetstream["memoryStore"]["enabled"] is False
    assert jetstream["merge"]["sync_interval"] == "always"
    # One server per node.
    spread = NATS_VALUES["podTemplate"]["topologySpreadConstraints"]["kubernetes.io/hostname"]
    assert spread["whenUnsatisfiable"] == "DoNotSchedule"


def test_the_services_find_nats_where_the_chart_puts_it():
    config = named(PLATFORM, "ConfigMap", "telecast-config")["data"]
    url = urlsplit(config["NATS_URL"])
    # The release `nats` in the same namespace: the chart names its client Service `nats`.
    assert (url.scheme, url.hostname, url.port) == ("nats", "nats", NATS_CLIENT_PORT)
    assert "@" not in config["NATS_URL"], "credentials belong in the Secret"


def test_the_nats_servers_get_every_services_password_from_the_secret_the_service_reads():
    env = NATS_VALUES["container"]["env"]
    expected = {f"NATS_{service.upper()}_PASSWORD" for service in SERVICES}
    from_secret = {name for name, value in env.items() if isinstance(value, dict)}
    assert from_secret == expected
    refs = secret_refs()
    for name in expected:
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == ("telecast-nats-users", name)
        assert refs[("telecast-nats-users", name)] is False
    # No password, token or key written into the values.
    assert not list(secret_fields(NATS_VALUES))


def secret_fields(node: Any, path: str = "") -> Any:
    """The paths of fields such as `password: …` with a value, anywhere in the values."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower() in {"password", "pass", "token", "nkey", "key"} and value:
                if not (isinstance(value, str) and value.startswith("NATS_")):
                    yield f"{path}.{key}"
            yield from secret_fields(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from secret_fields(value, f"{path}[{index}]")


def test_the_nats_users_file_is_mounted_where_the_config_includes_it():
    include = Path(NATS_VALUES["config"]["merge"]["$include"])
    # The chart writes its config to /etc/nats-config/nats.conf; includes are relative to it.
    path = (Path("/etc/nats-config") / include).resolve()
    (mount,) = [
        patch["value"]
        for patch in NATS_VALUES["container"]["patch"]
        if patch["path"] == "/volumeMounts/-"
    ]
    (volume,) = [
        patch["value"]
        for patch in NATS_VALUES["podTemplate"]["patch"]
        if patch["path"] == "/spec/volumes/-"
    ]
    assert path.parent == Path(mount["mountPath"])
    assert path.name == AUTHORIZATION.name
    assert volume["name"] == mount["name"]
    assert volume["configMap"]["name"] == "nats-authorization"
    assert f"--from-file=deploy/nats/{AUTHORIZATION.name}" in DOCS


def test_the_users_file_reads_the_passwords_the_servers_are_given():
    variables = set(re.findall(r"\$(NATS_[A-Z]+_PASSWORD)", AUTHORIZATION.read_text()))
    assert variables == set(NATS_VALUES["container"]["env"]) - {"GOMEMLIMIT"}


# --- PostgreSQL -----------------------------------------------------------------------------


def test_postgresql_is_a_cloudnativepg_cluster_of_three_with_synchronous_replication():
    cluster = named(PLATFORM, "Cluster", "telecast-db")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert spec["instances"] == 3
    assert spec["storage"]["size"]
    assert spec["postgresql"]["synchronous"]["number"] >= 1
    assert spec["affinity"]["enablePodAntiAffinity"] is True
    # CloudNativePG names the application's Secret <cluster>-app, owned by initdb's owner;
    # every DATABASE_URL is its `uri` (the -rw Service).
    owner = spec["bootstrap"]["initdb"]["owner"]
    assert owner == spec["bootstrap"]["initdb"]["database"] == "telecast"
    database_refs = {key for key in secret_refs() if key[0].endswith("-app")}
    assert database_refs == {(f"{cluster['metadata']['name']}-app", "uri")}


# --- options and examples -------------------------------------------------------------------


def test_the_keda_scaler_watches_the_dispatchers_work_consumers():
    assert (SCALER["apiVersion"], SCALER["kind"]) == ("keda.sh/v1alpha1", "ScaledObject")
    spec = SCALER["spec"]
    target = spec["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "dispatcher")
    named(PLATFORM, "Deployment", "dispatcher")
    # Never to zero: the dispatcher also serves webhooks and tracked links.
    assert spec["minReplicaCount"] >= 2
    subjects = Subjects("telecast")
    triggers = spec["triggers"]
    assert {t["type"] for t in triggers} == {"nats-jetstream"}
    assert {t["metadata"]["stream"] for t in triggers} == {subjects.work_stream}
    # The dispatcher's durable consumer per priority (sending/service.py).
    assert {t["metadata"]["consumer"] for t in triggers} == {
        subjects.durable(f"work_{priority}") for priority in ("high", "normal", "low")
    }
    for trigger in triggers:
        endpoint = trigger["metadata"]["natsServerMonitoringEndpoint"]
        # The release `nats` in the namespace telecast, its monitoring port.
        assert endpoint == "nats.telecast.svc.cluster.local:8222"
        assert int(trigger["metadata"]["lagThreshold"]) > 0
    # KEDA reads the monitoring port through the Service, which the chart leaves closed.
    assert NATS_VALUES["config"]["monitor"]["enabled"] is True
    assert NATS_VALUES["service"]["ports"]["monitor"]["enabled"] is True


def test_the_service_monitor_finds_a_metrics_port_on_every_service():
    assert SERVICE_MONITOR["apiVersion"] == "monitoring.coreos.com/v1"
    assert SERVICE_MONITOR["kind"] == "ServiceMonitor"
    selector = SERVICE_MONITOR["spec"]["selector"]["matchLabels"]
    (endpoint,) = SERVICE_MONITOR["spec"]["endpoints"]
    services = {
        o["metadata"]["name"]: o
        for o in PLATFORM
        if o["kind"] == "Service" and selector.items() <= o["metadata"]["labels"].items()
    }
    assert set(services) == set(SERVICES)
    for service in services.values():
        assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}


def test_the_ingress_serves_the_gateway_over_tls_at_the_tracked_links_address():
    spec = INGRESS["spec"]
    hosts = {rule["host"] for rule in spec["rules"]}
    assert hosts <= {host for tls in spec["tls"] for host in tls["hosts"]}
    for rule in spec["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "gateway"
            service = named(PLATFORM, "Service", "gateway")
            assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert any(p["path"] == "/" for r in spec["rules"] for p in r["http"]["paths"])
    # Tracked links lead to the gateway's public address.
    (dispatcher,) = pod_spec(named(PLATFORM, "Deployment", "dispatcher"))["containers"]
    base = next(v["value"] for v in dispatcher["env"] if v["name"] == "TRACKING_BASE_URL")
    assert urlsplit(base).scheme == "https"
    assert urlsplit(base).hostname in hosts


# --- the secrets the operator creates -------------------------------------------------------


def documented_secrets() -> dict[str, set[str]]:
    """Secret → keys, from the `kubectl create secret generic` commands in the docs."""
    secrets: dict[str, set[str]] = {}
    for command in re.findall(r"kubectl create secret generic (?:[^\n]*\\\n)*[^\n]*", DOCS):
        name = command.split()[4]
        secrets.setdefault(name, set()).update(re.findall(r"--from-literal=([A-Z_]+)=", command))
    return secrets


def test_the_documented_secrets_are_the_ones_the_manifests_read():
    """A key the docs forget stops a pod (CreateContainerConfigError); a key they name that
    nothing reads is a secret handed out for nothing."""
    documented = {(name, key) for name, keys in documented_secrets().items() for key in keys}
    refs = secret_refs()
    made_by_cloudnativepg = {ref for ref in refs if ref[0] == "telecast-db-app"}
    required = {ref for ref, optional in refs.items() if not optional}
    assert required - made_by_cloudnativepg <= documented
    assert documented <= set(refs)
    for _, key in refs:
        assert f"`{key}`" in DOCS, f"docs/kubernetes.md does not mention {key}"
