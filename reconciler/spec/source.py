"""Reads one YAML file safely into plain values plus the line and column of its entries.

Two ways, giving the same values: `load_text` keeps the position of every entry and reports
every problem; `quick_text` keeps only the positions a valid spec needs (each declared
object's, and everything under `targets:`) and gives up on anything unusual, which
`load_text` then reads and reports exactly as before.
"""

from __future__ import annotations

import math
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.model import Json, Location
from reconciler.errors import SpecIssue
from reconciler.spec import lines
from reconciler.spec.lines import LISTS as _LISTS
from reconciler.spec.lines import SHARED_VALUE_CHARS
from reconciler.spec.text import read_text

# Caps alias expansion ("billion laughs"): no honest spec expands to this many nodes.
MAX_NODES = 5_000_000

PathKey = tuple[str | int, ...]

_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
# YAML 1.1 words that resolve to booleans or null (as PyYAML's safe loader reads them).
_SPECIAL = frozenset({"yes", "no", "true", "false", "on", "off", "null", "~"})
_LONGEST_SPECIAL = max(map(len, _SPECIAL))
_SCALAR_NODE = yaml.ScalarNode


class _Loader(_BASE):  # type: ignore[misc]
    """PyYAML's safe loader, with a fast path for the plain words that fill a spec.

    Its resolver tries a regular expression per scalar; a plain scalar that starts with a
    letter and is none of YAML 1.1's boolean or null words is a string, decided at once.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # Called for each of the millions of nodes of a large spec: names bound once, and no
        # lower-cased copy of a word too long to be one of the special ones.
        if (
            kind is _SCALAR_NODE
            and implicit[0]
            and value
            and value[0].isalpha()
            and (len(value) > _LONGEST_SPECIAL or value.lower() not in _SPECIAL)
        ):
            return _STR
        return _BASE.resolve(self, kind, value, implicit)


@dataclass(frozen=True)
class Loaded:
    """A file's value, and where each mapping entry or list item starts."""

    file: str
    value: Json
    marks: dict[PathKey, Location]
    # Where each string value's text starts (after any opening quote), for expressions,
    # whose errors point at a character inside the value.
    texts: dict[PathKey, Location] = field(default_factory=dict)

    def loc(self, path: PathKey) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.marks.get(path[:end])
            if found is not None:
                return found
        return Location(self.file, 1, 1)


class _TooBig(Exception):
    pass


class _Refused(Exception):
    """The quick read met something only the exact read reports (a tag, a duplicate key...)."""


class _Recursive(Exception):
    def __init__(self, node: yaml.Node) -> None:
        super().__init__("recursive alias")
        self.node = node


def load_file(path: Path, display: str) -> tuple[Loaded | None, list[SpecIssue]]:
    """Load `path`; on failure return no value and the issues that say why."""
    text, issues = read_text(path, display)
    if text is None:
        return None, issues
    return load_text(text.text, display)


def load_text(text: str, display: str) -> tuple[Loaded | None, list[SpecIssue]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [SpecIssue(display, line, col, "", f"YAML syntax error: {problem}")]
    except yaml.reader.ReaderError:
        return None, [_unprintable(text, display)]
    except yaml.YAMLError as exc:
        return None, [SpecIssue(display, 1, 1, "", f"YAML error: {exc}")]
    if node is None:
        return Loaded(display, {}, {}), []
    # An alias-free document has at most about one node per character; more means aliases
    # expanding ("billion laughs"), refused long before it costs time or memory.
    builder = _Builder(display, min(MAX_NODES, len(text) + 10_000))
    try:
        value = builder.build(node, ())
    except _TooBig:
        return None, [
            SpecIssue(display, 1, 1, "", "too many YAML nodes (an alias that expands too far?)")
        ]
    except _Recursive as exc:
        line, col = exc.node.start_mark.line + 1, exc.node.start_mark.column + 1
        return None, [SpecIssue(display, line, col, "", "a YAML alias refers to itself")]
    except RecursionError:
        # A block nested deeper than Python calls go (a call a level; libyaml itself stops
        # at 1,000 levels): no spec is written so, and it is said rather than crashed on.
        return None, [SpecIssue(display, 1, 1, "", "YAML nested too deeply")]
    if builder.unreadable:
        return None, builder.issues
    return Loaded(display, value, builder.marks, builder.texts), builder.issues


def _unprintable(text: str, display: str) -> SpecIssue:
    """Where the character PyYAML's reader refused is: its error gives an offset in UTF-8
    bytes (libyaml) or in characters (PyYAML in Python), on two lines; found again here."""
    found = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if found is None:  # no other refusal of a text is known; said without a place
        return SpecIssue(display, 1, 1, "", "YAML syntax error: the text cannot be read")
    at = found.start()
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    kind = "control character" if unicodedata.category(found[0]) == "Cc" else "character"
    problem = (
        f"{kind} U+{ord(found[0]):04X} is not allowed (write it as an escape in double quotes)"
    )
    return SpecIssue(display, line, col, "", f"YAML syntax error: {problem}")


class _Builder:
    def __init__(self, file: str, limit: int) -> None:
        self.file = file
        self.limit = limit
        # One constructor per file: it caches what it builds, so a shared one would grow.
        self.constructor = yaml.constructor.SafeConstructor()
        self.active: set[int] = set()
        # A value that could not be read stops the checks of this file: they would only
        # report its absence again.
        self.unreadable = False
        self.marks: dict[PathKey, Location] = {}
        self.texts: dict[PathKey, Location] = {}
        self.issues: list[SpecIssue] = []
        self.count = 0
        # Short string values read so far, each held once (`_lean`).
        self.shared: dict[str, str] = {}

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: PathKey) -> Json:
        self.count += 1
        if self.count > self.limit:
            raise _TooBig
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in self.active:
                raise _Recursive(node)
            if node.tag not in _PLAIN_TAGS:
                line, col = self._pos(node)
                self.issues.append(
                    SpecIssue(
                        self.file, line, col, dotted(path), f"unsupported YAML tag {node.tag}"
                    )
                )
            self.active.add(id(node))
            try:
                return self._collection(node, path)
            finally:
                self.active.discard(id(node))
        try:
            value = self._scalar(node)
            if isinstance(value, str) and path and path[0] == "targets":
                # Only targets hold expressions, whose errors point inside the text.
                quoted = 1 if getattr(node, "style", None) in ('"', "'") else 0
                line, col = self._pos(node)
                self.texts[path] = Location(self.file, line, col + quoted)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            line, col = self._pos(node)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.issues.append(
                SpecIssue(self.file, line, col, dotted(path), f"cannot read value: {problem}")
            )
            self.unreadable = True
            return None
        if not isinstance(value, str | int | float | bool | type(None)):
            # Dates and other YAML-only types stay as the text the user wrote.
            return str(node.value)
        return value

    def _scalar(self, node: yaml.Node) -> Json:
        """A scalar's value: strings and plain decimal integers directly, the rest by PyYAML."""
        if node.tag == _STR:
            return str(node.value)
        if node.tag == _INT and node.value.lstrip("-+").isdigit() and "_" not in node.value:
            text = node.value.lstrip("-+")
            if len(text) == 1 or text[0] != "0":  # YAML 1.1 reads 012 as octal
                return int(node.value)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (LookupError, AttributeError, ArithmeticError) as exc:
            # PyYAML's constructors index and match the text without checking it first: an
            # explicit tag on text it cannot read (`!!bool maybe`, `!!int ''`) fails so, and
            # is then a value that cannot be read, as `!!int abc` is.
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            raise ValueError(f"{node.value!r} is not a {tag}") from exc
        if isinstance(value, float) and not math.isfinite(value):
            # `.nan`, `.inf`, `1e400`: a spec's values go to targets as JSON, which has no such
            # number (a NaN sent as `NaN` is no JSON, and a lenient target kept it, so that no
            # read of it was JSON again); a setting compared with one held no bound.
            raise ValueError(
                f"{node.value} is not a finite number (JSON, which targets read, has none)"
            )
        return value

    def _collection(self, node: yaml.Node, path: PathKey) -> Json:
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Json] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.issues.append(
                        SpecIssue(
                            self.file, *self._pos(key_node), dotted(path), "keys must be strings"
                        )
                    )
                    continue
                key = str(key_node.value)
                child = (*path, key)
                if key in out:
                    self.issues.append(
                        SpecIssue(self.file, *self._pos(key_node), dotted(child), "duplicate key")
                    )
                    continue
                self.marks[child] = self._loc(key_node)
                out[key] = self.build(value_node, child)
            return out
        items = []
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                self.marks[child] = self._loc(item)
                items.append(self.build(item, child))
        return items

    def quick(self, root: yaml.MappingNode) -> dict[str, Json]:
        """The document (a plain mapping) with positions only where `quick_text` says."""
        self.count += 1
        out: dict[str, Json] = {}
        for key_node, value_node in root.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused
            key = str(key_node.value)
            if key in out:
                raise _Refused
            self.marks[(key,)] = self._loc(key_node)
            if key in _LISTS and type(value_node) is yaml.SequenceNode:
                if value_node.tag not in _PLAIN_TAGS:
                    raise _Refused
                self.count += 1
                items = []
                for index, item in enumerate(value_node.value):
                    self.marks[(key, index)] = self._loc(item)
                    items.append(self._lean(item))
                out[key] = items
            else:
                out[key] = self.build(value_node, (key,))
        return out

    def _lean(self, node: yaml.Node) -> Json:
        """`build` without positions or paths; whatever `build` would report raises instead.

        A recursive alias recurses here until the node limit or Python's recursion limit
        stops it, and the exact read then says what it is.
        """
        self.count += 1
        if self.count > self.limit:
            raise _TooBig
        kind = type(node)
        if kind is yaml.ScalarNode:
            if node.tag == _STR:
                text: str = node.value
                if len(text) > SHARED_VALUE_CHARS:
                    return text
                return self.shared.setdefault(text, text)
            value = self._scalar(node)
            if not isinstance(value, str | int | float | bool | type(None)):
                return str(node.value)
            return value
        if node.tag not in _PLAIN_TAGS:
            raise _Refused
        if kind is yaml.MappingNode:
            out: dict[str, Json] = {}
            for key_node, value_node in node.value:
                if type(key_node) is not yaml.ScalarNode:
                    raise _Refused
                # Keys repeat in every object: one string each for the whole process
                # (a 100,000-user spec held half a kilobyte of keys per user).
                out[sys.intern(key_node.value)] = self._lean(value_node)
            if len(out) != len(node.value):
                raise _Refused  # a duplicate key
            return out
        if kind is yaml.SequenceNode:
            return [self._lean(item) for item in node.value]
        raise _Refused

    @staticmethod
    def _pos(node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1


def dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def quick_text(text: str, display: str) -> Loaded | None:
    """The same value as `load_text`, or None where `load_text` must read the file.

    Positions are kept for the top-level keys, for each item of `users:` and `groups:` (where
    a declared object starts) and for everything under other keys (targets, whose
    expressions point inside their text); an attribute's own position is found again by the
    exact read if an error ever needs it (spec/positions.py). Anything that would make
    `load_text` report an issue (a syntax error, a tag, a duplicate or non-string key, an
    alias that expands too far or into itself, an unreadable value) gives None instead,
    so every message keeps its exact wording and position.

    Files in plain block YAML are read line by line (lines.py); the others through PyYAML
    (`quick_yaml`), which gives the same value and positions for any file both read.
    """
    found = lines.read(text, display)
    if found is not None:
        value, marks = found
        return Loaded(display, value, marks)
    return quick_yaml(text, display)


def quick_yaml(text: str, display: str) -> Loaded | None:
    """`quick_text` through PyYAML's nodes, whatever YAML the file uses."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if node is None:
        return Loaded(display, {}, {})
    if not isinstance(node, yaml.MappingNode) or node.tag not in _PLAIN_TAGS:
        return None  # not a mapping: the checks report it, with the exact position
    builder = _Builder(display, min(MAX_NODES, len(text) + 10_000))
    try:
        value = builder.quick(node)
    except (_Refused, _TooBig, _Recursive, RecursionError, yaml.YAMLError, ValueError, TypeError):
        return None
    if builder.issues or builder.unreadable:
        return None
    return Loaded(display, value, builder.marks, builder.texts)
