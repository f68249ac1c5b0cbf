"""The YAML `scimrec import` writes: text that reads back, through the loader every command
uses, as exactly the values the target holds.

PyYAML writes a NEL (U+0085), LS or PS (U+2028, U+2029) raw inside a plain or single-quoted
scalar, and YAML reads each as a line break, which the fold turns into a space: a userName
holding one would come back as another name, and the first plan of the imported tree would
create that account and disable the real one. Such text is written double-quoted, where
each is an escape (`\\N`, `\\L`, `\\P`); and every file is read back and compared before it is
written, so no other difference can pass unseen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from reconciler.errors import ScimrecError, one_line, printable
from reconciler.spec.source import dotted, load_text, quick_text

# What a double-quoted scalar escapes (PyYAML's emitter, allow_unicode): text holding any of
# these is written so, never plain or single-quoted, where some are written raw.
_ESCAPED = re.compile(
    "[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]"
)
_STR = "tag:yaml.org,2002:str"


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _ESCAPED.search(value) else None
    return dumper.represent_scalar(_STR, value, style=style)


_Dumper.add_representer(str, _text)


def dump(
    doc: Mapping[str, Any], header: str, name: str, dumper: type[yaml.SafeDumper] = _Dumper
) -> str:
    """`header` (one comment line) and `doc` as YAML; ScimrecError naming the first value
    that would not read back as it is (nothing is written then). `dumper`: how values are
    written (tests give one that writes as PyYAML's own does, to see the read-back catch it)."""
    # A target's name or URL cannot break the comment line, and so start YAML of its own.
    text = (
        printable(header)
        + "\n"
        + yaml.dump(dict(doc), Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    )
    path = _differs(text, dict(doc), name)
    if path is not None:
        raise ScimrecError(
            f"import: {name}: {path or 'the file'} cannot be written so that it reads back "
            "as the target holds it; nothing was written"
        )
    return text


def _differs(text: str, doc: dict[str, Any], name: str) -> str | None:
    """Where `text`, read as a spec file is, differs from `doc` ("" for the whole file);
    None where it reads back identical."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    loaded = quick_text(text, name)
    if loaded is None:
        loaded, _ = load_text(text, name)
    if loaded is None:
        return ""
    return _first_difference(doc, loaded.value, ())


def _first_difference(wanted: Any, got: Any, path: tuple[str | int, ...]) -> str | None:
    # By type as well as value: True == 1 and 1 == 1.0 in Python, not in a spec.
    if type(wanted) is not type(got):
        return _named(path, wanted)
    if isinstance(wanted, dict):
        if list(wanted) != list(got):
            return _named(path, wanted)
        for key, value in wanted.items():
            if (found := _first_difference(value, got[key], (*path, key))) is not None:
                return found
        return None
    if isinstance(wanted, list):
        if len(wanted) != len(got):
            return _named(path, wanted)
        for index, (value, other) in enumerate(zip(wanted, got, strict=True)):
            if (found := _first_difference(value, other, (*path, index))) is not None:
                return found
        return None
    return None if wanted == got else _named(path, wanted)


def _named(path: tuple[str | int, ...], value: Any) -> str:
    shown = one_line(repr(value), 80) if not isinstance(value, dict | list) else ""
    return f"{dotted(path)} {shown}".strip()
