"""JSON Merge Patch (RFC 7396): how a campaign's PUT body changes its stored content."""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied: a key absent from the patch keeps its value, a
    ``None`` (JSON null) removes it, an object merges key by key, anything else (a list
    too) replaces the value. Neither argument is changed."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
