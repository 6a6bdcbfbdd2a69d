"""The root lookup of a union-find forest, shared by the stages that group things by linking
pairs (clusters, copies, connected components). Each caller keeps its own rule for which root
wins a union: that rule is what makes its grouping deterministic."""

from __future__ import annotations


def find_root(parent: list[int], i: int) -> int:
    """The root of `i` in the forest `parent`, halving the path on the way (each node visited
    points to its grandparent), so repeated lookups stay near constant time."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i
