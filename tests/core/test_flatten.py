"""Nested groups flattened for targets that nest nothing: any depth, the same order."""

from __future__ import annotations

import pytest

from reconciler.core.action import flatten
from reconciler.core.model import Declared, Kind


def group(key: str, members: tuple[str, ...] = (), subgroups: tuple[str, ...] = ()) -> Declared:
    return Declared(Kind.GROUP, key, {"displayName": key}, members=members, subgroups=subgroups)


def test_a_chain_deeper_than_pythons_stack_flattens() -> None:
    # Flattened recursively, 1,000 levels ended in RecursionError (exit 3).
    depth = 1500
    chain = [group(f"g{i}", (f"u{i}",), (f"g{i + 1}",)) for i in range(depth)]
    chain.append(group(f"g{depth}", (f"u{depth}",)))
    flat = flatten({g.key: g for g in chain})
    assert flat["g0"] == tuple(f"u{i}" for i in range(depth + 1))
    assert flat[f"g{depth - 1}"] == (f"u{depth - 1}", f"u{depth}")


def test_members_and_groups_keep_their_order_through_a_diamond() -> None:
    groups = {
        "top": group("top", ("t",), ("left", "right")),
        "left": group("left", ("l",), ("bottom",)),
        "right": group("right", ("r", "b"), ("bottom",)),
        "bottom": group("bottom", ("b",)),
    }
    flat = flatten(groups)
    # Nested groups first, in the order the spec names them.
    assert list(flat) == ["bottom", "left", "right", "top"]
    assert flat == {
        "bottom": ("b",),
        "left": ("l", "b"),
        "right": ("r", "b"),
        "top": ("t", "l", "b", "r"),
    }


def test_a_cycle_is_a_bug_not_a_loop_forever() -> None:
    groups = {"a": group("a", subgroups=("b",)), "b": group("b", subgroups=("a",))}
    with pytest.raises(ValueError, match="nested in itself"):
        flatten(groups)
