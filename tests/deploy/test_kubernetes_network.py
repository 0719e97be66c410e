"""deploy/kubernetes's NetworkPolicies, evaluated: who each pod may reach and be reached by.

For each of telecast's pods (and NATS's and PostgreSQL's), the policies that select it are
combined as Kubernetes does (a pod selected by any policy of a direction allows only what
one of them allows), and what comes out is compared with what the service needs: no less
(it would fail), no more (it would be reachable, or reach, where it has no business).
"""

from __future__ import annotations

from typing import Any

from support.kubernetes import KUBERNETES, pod_spec, render

OBJECTS = render()
POLICIES = [obj for obj in OBJECTS if obj["kind"] == "NetworkPolicy"]
SERVICES = ("gateway", "campaign", "projection", "dispatcher")

# Pods as their selectors see them.
NATS_POD = {
    "app.kubernetes.io/name": "nats",
    "app.kubernetes.io/instance": "nats",
    "app.kubernetes.io/component": "nats",
}
POSTGRES_POD = {"cnpg.io/cluster": "telecast-db"}
DNS = ("namespace kube-system", (("k8s-app", "kube-dns"),))
POSTGRES = ("pods", tuple(sorted(POSTGRES_POD.items())))
NATS = ("pods", (("app.kubernetes.io/instance", "nats"), ("app.kubernetes.io/name", "nats")))
PROMETHEUS = ("namespace monitoring", ())
PUBLIC_V4 = "ipBlock 0.0.0.0/0"
PUBLIC_V6 = "ipBlock ::/0"


def pod_labels(name: str) -> dict[str, str]:
    for obj in [*OBJECTS, *render(KUBERNETES / "migrate")]:
        if obj["metadata"]["name"] == name and pod_spec(obj) is not None:
            return obj["spec"]["template"]["metadata"]["labels"]
    raise KeyError(name)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "teach this test the other operators"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def peer(entry: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A policy peer in a comparable form: which namespace (or address block) and pods."""
    if "ipBlock" in entry:
        return (f"ipBlock {entry['ipBlock']['cidr']}", tuple(entry["ipBlock"].get("except", [])))
    pods = tuple(sorted(entry.get("podSelector", {}).get("matchLabels", {}).items()))
    expressions = entry.get("podSelector", {}).get("matchExpressions", [])
    pods += tuple((e["key"], ",".join(e["values"])) for e in expressions)
    if "namespaceSelector" in entry:
        namespace = entry["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        return (f"namespace {namespace}", pods)
    return ("pods", pods)


def allowed(labels: dict[str, str], direction: str) -> set[tuple[str, int, str]] | None:
    """(peer kind, port, protocol) the pod may use in that direction; None: unrestricted
    (no policy of that direction selects it)."""
    kind = {"ingress": "Ingress", "egress": "Egress"}[direction]
    chosen = [
        p
        for p in POLICIES
        if kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)
    ]
    if not chosen:
        return None
    rules: set[tuple[Any, int, str]] = set()
    for policy in chosen:
        for rule in policy["spec"].get(direction, []):
            peers = rule["to" if direction == "egress" else "from"]
            for entry in peers:
                for port in rule["ports"]:
                    rules.add((peer(entry)[0], port["port"], port["protocol"]))
    return rules


def peers(labels: dict[str, str], direction: str, port: int) -> set[Any]:
    kind = {"ingress": "Ingress", "egress": "Egress"}[direction]
    found = set()
    for policy in POLICIES:
        if kind not in policy["spec"]["policyTypes"]:
            continue
        if not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get(direction, []):
            if any(p["port"] == port for p in rule["ports"]):
                found |= {peer(e) for e in rule["to" if direction == "egress" else "from"]}
    return found


def test_every_telecast_pod_is_closed_but_for_what_the_policies_allow():
    for name in [*SERVICES, "telecast-migrate"]:
        labels = pod_labels(name)
        assert allowed(labels, "ingress") is not None, name
        assert allowed(labels, "egress") is not None, name


def test_each_service_reaches_postgresql_nats_and_dns_only():
    for service in SERVICES:
        labels = pod_labels(service)
        reach = allowed(labels, "egress")
        expected = {
            ("namespace kube-system", 53, "UDP"),
            ("namespace kube-system", 53, "TCP"),
            ("pods", 5432, "TCP"),
            ("pods", 4222, "TCP"),
        }
        if service == "dispatcher":
            expected |= {(PUBLIC_V4, 443, "TCP"), (PUBLIC_V6, 443, "TCP")}
        assert reach == expected, service
        assert peers(labels, "egress", 5432) == {POSTGRES}
        assert peers(labels, "egress", 4222) == {NATS}
        assert peers(labels, "egress", 53) == {DNS}


def test_the_migrations_reach_postgresql_and_dns_only():
    reach = allowed(pod_labels("telecast-migrate"), "egress")
    assert {port for _, port, _ in reach} == {53, 5432}
    assert allowed(pod_labels("telecast-migrate"), "ingress") == set()


def test_the_dispatcher_reaches_public_addresses_only():
    (v4, v6) = sorted(peers(pod_labels("dispatcher"), "egress", 443))
    # Neither the cluster's and the cloud's private ranges nor the metadata service.
    assert v4 == (
        PUBLIC_V4,
        (
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.168.0.0/16",
        ),
    )
    assert v6 == (PUBLIC_V6, ("fc00::/7", "fe80::/10"))


def test_only_the_ingress_controller_reaches_the_api_and_only_prometheus_the_metrics():
    for service in SERVICES:
        labels = pod_labels(service)
        reached = allowed(labels, "ingress")
        expected = {("namespace monitoring", 9100, "TCP")}
        if service == "gateway":
            expected.add(("namespace ingress-nginx", 8000, "TCP"))
        assert reached == expected, service
        assert peers(labels, "ingress", 9100) == {PROMETHEUS}


def test_only_the_services_reach_the_nats_client_port():
    clients = peers(NATS_POD, "ingress", 4222)
    assert clients == {
        ("pods", (("app.kubernetes.io/name", "gateway,campaign,projection,dispatcher"),))
    }
    assert {port for _, port, _ in allowed(NATS_POD, "ingress")} == {4222, 6222, 7777, 8222}
    # Routes: between the NATS servers only.
    assert peers(NATS_POD, "ingress", 6222) == {
        ("pods", (("app.kubernetes.io/component", "nats"), ("app.kubernetes.io/instance", "nats")))
    }


def test_postgresql_is_reached_by_telecast_its_instances_and_its_operator():
    clients = peers(POSTGRES_POD, "ingress", 5432)
    assert clients == {("pods", (("app.kubernetes.io/part-of", "telecast"),)), POSTGRES}
    assert ("namespace cnpg-system", ()) in peers(POSTGRES_POD, "ingress", 8000)


def test_the_policies_select_the_pods_the_other_manifests_make():
    """A label or cluster name changed in one place and not the other would silently open or
    close everything."""
    cluster = next(obj for obj in OBJECTS if obj["kind"] == "Cluster")
    assert POSTGRES_POD["cnpg.io/cluster"] == cluster["metadata"]["name"]
    for service in SERVICES:
        assert pod_labels(service)["app.kubernetes.io/name"] == service
        assert pod_labels(service)["app.kubernetes.io/part-of"] == "telecast"
