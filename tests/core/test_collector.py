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
