"""The JSON Schema of one spec file (DESIGN §2), shipped in the package for editors."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "spec.schema.json"


def schema_text() -> str:
    """The schema exactly as shipped (what `scimrec schema` prints)."""
    return resources.files("reconciler.spec").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    """The schema as a mapping."""
    loaded = json.loads(schema_text())
    if not isinstance(loaded, dict):  # pragma: no cover - the shipped file is an object
        raise TypeError(f"{SCHEMA_FILE} is not a JSON object")
    return loaded
