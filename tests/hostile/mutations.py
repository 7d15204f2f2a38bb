"""Random edits of a JSON document, for the tests that feed mutated real samples to the carrier
parsers (the hostile tests and each carrier's property tests) and the signed webhooks."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indexes) inside ``value``, the empty path (the whole) first."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += paths(item, (*prefix, i))
    return out


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``doc`` with the value at ``path`` (one of :func:`paths`) set to ``value``."""
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def mutate(draw: st.DrawFn, doc: Any, edits: int, values: st.SearchStrategy[Any]) -> Any:
    """``doc`` (changed in place) with one to ``edits`` values replaced by one of ``values``,
    deleted or wrapped in a list; an edit of the whole replaces it. Returns the result."""
    for _ in range(draw(st.integers(1, edits))):
        path = draw(st.sampled_from(paths(doc)))
        if not path:
            doc = draw(values)
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        how = draw(st.sampled_from(["replace", "delete", "wrap"]))
        if how == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif how == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        else:
            parent[path[-1]] = draw(values)
    return doc
