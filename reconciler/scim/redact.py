"""Keeps secrets out of every output: known secret values, and sensitive attributes."""

from __future__ import annotations

import threading
from collections.abc import Mapping, MutableMapping
from typing import Any

from reconciler.core import attributes as A
from reconciler.core.model import Json

MASK = "(sensitive)"
_SENSITIVE_KEYS = frozenset({"authorization", "password", "token", "secret", "client_secret"})
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember a secret read from the environment, so no output can ever show it."""
    if len(value) >= 4:  # masking 1-3 character strings would garble ordinary text
        with _lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def mask_attribute(path: str, value: Json) -> Json:
    """Write-only attributes (passwords) are shown as a mask, never as their value."""
    if path in A.SECRET_PATHS and value is not None:
        return MASK
    return value


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {
            k: ("***" if str(k).lower() in _SENSITIVE_KEYS and v else _scrub_value(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


def redact_processor(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: masks secret values and sensitive keys in every log event."""
    for key in list(event):
        value = event[key]
        if key.lower() in _SENSITIVE_KEYS and value:
            event[key] = "***"
        else:
            event[key] = _scrub_value(value)
    return event
