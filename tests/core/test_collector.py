"""The cyclic collector paused while a large tree is built, and left as it was found."""

from __future__ import annotations

import gc

import pytest

from reconciler.core import collector


def test_paused_inside_and_enabled_again_after_even_on_error() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_what_was_built_inside_is_not_walked_by_the_next_young_collection() -> None:
    gc.collect()
    with collector.paused():
        built = [[n] for n in range(1_000)]
    # In the oldest generation, which only a full collection walks, and not frozen.
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(item) in oldest for item in built)
    young = {id(o) for o in (*gc.get_objects(generation=0), *gc.get_objects(generation=1))}
    assert not any(id(item) in young for item in built)
    assert gc.get_freeze_count() == 0
