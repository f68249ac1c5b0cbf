"""The shape a user body must have (core/shape.py `_user`), asked of a whole body at once in
C: `msgspec.convert` into a Struct that declares each attribute `_user` checks, with the
type `_user` accepts for it.

A body that fits has none of the problems `_user` finds, so its Python walk (about 3
microseconds a user, 0.3 s for 100,000) is skipped. A body that does not fit proves nothing:
an extension attribute or sub-attribute not declared here, or a bad value, and `_user`
reads it as before, with its message. So the Struct may only ever be stricter than
`_user`: each part is built from the same tables (core/attributes.py), every object
refuses keys it does not declare (where `_user` reads any key, it then decides), and
tests/core/test_user_shape.py holds the two to that for generated JSON bodies.

Only for what a JSON parser gives: msgspec reads a tuple or a set as a list, where
`_user` refuses them. No body read from a target holds either.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from reconciler.core import attributes as A
from reconciler.core.model import ENTERPRISE_URN, Json

# What a part of `name` or of the enterprise extension may hold (shape.py `_SCALAR`).
_Scalar = str | int | float | bool | None


def _struct(
    name: str, fields: list[tuple[str, Any]], *, closed: bool, required: Any = None
) -> type[msgspec.Struct]:
    """A Struct of optional fields, each named as the JSON key (which may not be a
    Python name: `$ref`, a URN); `closed`: any other key fails it. `required`: a first
    field, `(key, type)`, that must be present."""
    parts: list[Any] = [
        (f"f{index}", kind, msgspec.field(default=None, name=key))
        for index, (key, kind) in enumerate(fields)
    ]
    if required is not None:
        key, kind = required
        parts.insert(0, ("required", kind, msgspec.field(name=key)))
    return msgspec.defstruct(name, parts, forbid_unknown_fields=closed)


def _multi(path: str) -> Any:
    # Each item an object; `primary` true or false, every other sub-attribute a string.
    subs = [(sub, bool | None if sub == "primary" else str | None) for sub in A.USER_MULTI[path]]
    return list[_struct(f"Multi_{path}", subs, closed=True)] | None  # type: ignore[misc]


def _simple(kind: str) -> Any:
    return bool | None if kind == A.BOOLEAN else str | None


_NAME = _struct("Name", [(part, _Scalar) for part in A.NAME_PARTS], closed=True)
_MANAGER = _struct("Manager", [(part, _Scalar) for part in ("value", "$ref", "displayName")],
                   closed=True)  # fmt: skip
_ENTERPRISE = _struct(
    "Enterprise",
    [(key, _MANAGER | str | None if key == "manager" else _Scalar) for key in A.ENTERPRISE],
    closed=True,
)
_USER = _struct(
    "User",
    [
        *((path, _simple(kind)) for path, kind in A.USER_SIMPLE.items() if path != "userName"),
        ("name", _NAME | None),
        *((path, _multi(path)) for path in A.USER_MULTI),
        (ENTERPRISE_URN, _ENTERPRISE | None),
    ],
    closed=False,  # a user body holds other attributes `_user` does not read (id, meta...)
    # The one attribute a user must have: a non-empty string.
    required=("userName", Annotated[str, msgspec.Meta(min_length=1)]),
)


def fits(body: dict[str, Json]) -> bool:
    """Whether `body`, as JSON gives it, has every attribute `_user` checks in the shape it
    needs (True), or may not have (False: `_user` decides)."""
    try:
        msgspec.convert(body, _USER)
    except Exception:  # noqa: BLE001 - a refusal of any kind (a key holding a lone
        # surrogate raises UnicodeEncodeError) only means the walk decides
        return False
    return True
