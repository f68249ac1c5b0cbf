"""Loads a spec tree (DESIGN §2) into a validated `Spec`, reporting every problem at once."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from reconciler import attributes as A
from reconciler.errors import SpecError, SpecIssue
from reconciler.expressions import caret, line_col
from reconciler.mapping import AttrMapping, compile_one, targets_for
from reconciler.model import Auth, Declared, Json, Kind, Location, Spec, State, Target
from reconciler.scoping import Filter, check_filter
from reconciler.yamlsrc import Loaded, PathKey, dotted, load_file

TOP_KEYS = ("version", "targets", "users", "groups")
SUPPORTED_VERSIONS = (1,)
AUTH_FIELDS: Mapping[str, tuple[str, ...]] = {
    "none": (),
    "bearer": ("token_env",),
    "basic": ("username_env", "password_env"),
    "oauth2_client_credentials": ("token_url", "client_id_env", "client_secret_env"),
}
AUTH_OPTIONAL: Mapping[str, tuple[str, ...]] = {"oauth2_client_credentials": ("scope",)}
TARGET_KEYS = (
    "url",
    "auth",
    "matching",
    "deprovision",
    "prune",
    "guards",
    "scope",
    "mappings",
    "page_size",
    "concurrency",
    "timeout_seconds",
    "membership_chunk",
    "protected",
    "ownership",
    "ca_bundle",
    "allow_http",
    "max_rps",
    "out_of_scope",
    "quirks",
    "extensions",
    "nested_groups",
)
# An extension alias names a key users write attributes under; it must not shadow SCIM's.
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# What a `quirks:` block can force, and the values each takes ("auto" is the default:
# follow the ServiceProviderConfig and learn from refusals during the run).
QUIRKS: Mapping[str, tuple[str, ...]] = {
    "patch": ("auto", "never"),  # never: every update is a GET-merge-PUT
    "etag": ("auto", "never"),  # never: no If-Match, whatever the target claims
    "member_removal": ("auto", "filter", "value"),  # PATCH remove dialect to use
    "members_on_create": ("auto", "never"),  # never: add members after the group POST
    "filter": ("auto", "never"),  # never: lookups read the full listing
    "value_paths": ("auto", "never"),  # never: replace whole multi-valued attributes
}


def spec_files(root: Path) -> list[Path]:
    """Every `*.yaml`/`*.yml` under `root` in sorted order (or `root` itself if a file)."""
    if root.is_file():
        return [root]
    found = [p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def load_spec(root: Path) -> Spec:
    """Read and validate the spec tree at `root`; raise SpecError listing every issue."""
    if not root.exists():
        raise SpecError([SpecIssue(str(root), 1, 1, "", "no such file or directory")])
    files = spec_files(root)
    if not files:
        raise SpecError([SpecIssue(str(root), 1, 1, "", "no *.yaml or *.yml files found")])
    check = _Checker()
    digest = hashlib.sha256()
    for path in files:
        display = path.as_posix()
        loaded, issues = load_file(path, display)
        check.issues.extend(issues)
        digest.update(display.encode() + b"\0")
        if loaded is not None:
            digest.update(path.read_bytes())
            check.file(loaded)
    check.cross_checks()
    if check.issues:
        raise SpecError(check.issues)
    return Spec(
        targets=check.targets,
        users=tuple(check.users),
        groups=tuple(check.groups),
        files=tuple(p.as_posix() for p in files),
        digest=digest.hexdigest(),
    )


class _Checker:
    def __init__(self) -> None:
        self.issues: list[SpecIssue] = []
        self.targets: dict[str, Target] = {}
        self.users: list[Declared] = []
        self.groups: list[Declared] = []
        self._src: Loaded | None = None

    # -- helpers ---------------------------------------------------------------

    def error(self, path: PathKey, message: str, loc: Location | None = None) -> None:
        where = loc if loc is not None else self.loc(path)
        self.issues.append(SpecIssue(where.file, where.line, where.col, dotted(path), message))

    def loc(self, path: PathKey) -> Location:
        if self._src is None:
            return Location("<spec>", 1, 1)
        return self._src.loc(path)

    def unknown(self, path: PathKey, key: str, allowed: Iterable[str], what: str) -> None:
        close = difflib.get_close_matches(key, list(allowed), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        self.error((*path, key), f"unknown {what} '{key}'{hint}")

    def string(self, path: PathKey, value: Json, *, nullable: bool = True) -> bool:
        if value is None and nullable:
            return True
        if not isinstance(value, str):
            self.error(path, f"expected a string, got {_type_name(value)}")
            return False
        return True

    def integer(self, path: PathKey, value: Json, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(path, f"expected an integer from {low} to {high}, got {value!r}")
            return None
        return value

    def choice(self, path: PathKey, value: Json, choices: tuple[str, ...]) -> str | None:
        if value not in choices:
            self.error(path, f"expected one of {', '.join(choices)}, got {value!r}")
            return None
        return str(value)

    # -- files -----------------------------------------------------------------

    def file(self, loaded: Loaded) -> None:
        self._src = loaded
        doc = loaded.value
        if not isinstance(doc, dict):
            self.error((), f"a spec file must be a mapping, got {_type_name(doc)}")
            return
        for key in doc:
            if key not in TOP_KEYS:
                self.unknown((), key, TOP_KEYS, "top-level key")
        version = doc.get("version", 1)
        if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
            self.error(("version",), f"unsupported spec version {doc['version']!r} (supported: 1)")
        targets = doc.get("targets")
        if targets is not None:
            if isinstance(targets, dict):
                for name, body in targets.items():
                    self.target(("targets", name), name, body)
            else:
                self.error(("targets",), "expected a mapping of target names to targets")
        for kind, method in (("users", self.user), ("groups", self.group)):
            items = doc.get(kind)
            if items is None:
                continue
            if not isinstance(items, list):
                self.error((kind,), f"expected a list, got {_type_name(items)}")
                continue
            for index, item in enumerate(items):
                method((kind, index), item)

    # -- targets ---------------------------------------------------------------

    def target(self, path: PathKey, name: str, body: Json) -> None:
        if not isinstance(body, dict):
            self.error(path, "expected a mapping")
            return
        before = len(self.issues)
        for key in body:
            if key not in TARGET_KEYS:
                self.unknown(path, key, TARGET_KEYS, "target setting")
        url = body.get("url")
        if url is None:
            self.error(path, "missing 'url'")
        elif self.string((*path, "url"), url, nullable=False):
            allow_http = body.get("allow_http", False)
            if not isinstance(allow_http, bool):
                self.error((*path, "allow_http"), "expected true or false")
            self._check_url((*path, "url"), url, allow_http is True)
        ca_bundle = self.ca_bundle((*path, "ca_bundle"), body.get("ca_bundle"))
        max_rps = body.get("max_rps")
        if max_rps is not None and (
            isinstance(max_rps, bool) or not isinstance(max_rps, int | float) or max_rps <= 0
        ):
            self.error((*path, "max_rps"), f"expected a positive number, got {max_rps!r}")
        auth = self.auth((*path, "auth"), body.get("auth", {"type": "none"}))
        user_matching, group_matching = self.matchings((*path, "matching"), body.get("matching"))
        deprovision = self.choice(
            (*path, "deprovision"), body.get("deprovision", "disable"), ("disable", "delete")
        )
        prune = self.choice((*path, "prune"), body.get("prune", "none"), ("none", "owned", "all"))
        protected = self.patterns((*path, "protected"), body.get("protected", []))
        prefix = self.ownership((*path, "ownership"), body.get("ownership"))
        if prune == "owned" and not prefix:
            self.error(
                (*path, "prune"),
                "prune: owned needs ownership: {external_id_prefix: ...} to recognise objects",
            )
        user_mappings, group_mappings = self.mappings((*path, "mappings"), body.get("mappings"))
        scope = self.scope((*path, "scope"), body.get("scope"))
        out_of_scope = self.choice(
            (*path, "out_of_scope"), body.get("out_of_scope", "skip"), ("skip", "deprovision")
        )
        quirks = self.quirks((*path, "quirks"), body.get("quirks"))
        extensions = self.extensions((*path, "extensions"), body.get("extensions"))
        nested_groups = self.choice(
            (*path, "nested_groups"), body.get("nested_groups", "flatten"), ("flatten", "native")
        )
        guards = body.get("guards") or {}
        self.guards((*path, "guards"), guards)
        page_size = self.integer((*path, "page_size"), body.get("page_size", 500), 1, 10_000)
        concurrency = self.integer((*path, "concurrency"), body.get("concurrency", 8), 1, 64)
        chunk = self.integer(
            (*path, "membership_chunk"), body.get("membership_chunk", 100), 1, 10_000
        )
        timeout = body.get("timeout_seconds", 30)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            self.error((*path, "timeout_seconds"), f"expected a positive number, got {timeout!r}")
        if name in self.targets:
            first = self.targets[name].location
            self.error(path, f"target '{name}' is already defined at {first}")
            return
        if len(self.issues) != before:
            return
        self.targets[name] = Target(
            name=name,
            url=str(url).rstrip("/"),
            auth=auth,
            user_matching=user_matching,
            group_matching=group_matching,
            deprovision=deprovision or "disable",
            prune=prune or "none",
            page_size=page_size or 500,
            concurrency=concurrency or 8,
            timeout_seconds=float(timeout),
            membership_chunk=chunk or 100,
            max_deletes=guards.get("max_deletes") if isinstance(guards, dict) else None,
            max_delete_percent=(
                guards.get("max_delete_percent") if isinstance(guards, dict) else None
            ),
            protected=protected,
            ownership_prefix=prefix,
            ca_bundle=ca_bundle,
            user_mappings=user_mappings,
            group_mappings=group_mappings,
            scope=scope,
            out_of_scope=out_of_scope or "skip",
            quirks=quirks,
            extensions=extensions,
            nested_groups=nested_groups or "flatten",
            max_rps=float(max_rps) if max_rps else None,
            location=self.loc(path),
        )

    def patterns(self, path: PathKey, value: Json) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.error(path, "expected a list of userName / displayName patterns (* and ? allowed)")
            return ()
        return tuple(v for i, v in enumerate(value) if self.string((*path, i), v, nullable=False))

    def ownership(self, path: PathKey, value: Json) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(path, "expected {external_id_prefix: PREFIX}")
            return None
        for key in value:
            if key != "external_id_prefix":
                self.unknown(path, key, ("external_id_prefix",), "ownership setting")
        prefix = value.get("external_id_prefix")
        if not isinstance(prefix, str) or not prefix:
            self.error((*path, "external_id_prefix"), "expected a non-empty string")
            return None
        return prefix

    def mappings(
        self, path: PathKey, value: Json
    ) -> tuple[tuple[AttrMapping, ...], tuple[AttrMapping, ...]]:
        """`mappings: {user: {TARGET_ATTR: {source|constant|expression, apply, default}}}`."""
        out: dict[str, list[AttrMapping]] = {"user": [], "group": []}
        if value in (None, {}):
            return (), ()
        if not isinstance(value, dict):
            self.error(path, "expected {user: {...}, group: {...}}")
            return (), ()
        for kind_name, entries in value.items():
            if kind_name not in out:
                self.unknown(path, kind_name, ("user", "group"), "mapping kind")
                continue
            if not isinstance(entries, dict):
                self.error((*path, kind_name), "expected a mapping of target attributes")
                continue
            allowed = targets_for(Kind(kind_name))
            for attr, raw in entries.items():
                apath = (*path, kind_name, attr)
                if attr not in allowed:
                    self.unknown((*path, kind_name), attr, sorted(allowed), "mapping target")
                    continue
                mapping, problems = compile_one(attr, raw)
                for sub, message, offset in problems:
                    self._mapping_issue(apath, raw, sub, message, offset)
                if mapping is not None:
                    out[kind_name].append(mapping)
        return tuple(out["user"]), tuple(out["group"])

    def _mapping_issue(self, path: PathKey, raw: Json, sub: str, message: str, offset: int) -> None:
        if offset < 0 or self._src is None:
            self.error((*path, sub) if sub else path, message)
            return
        # Point at the character: the expression's own line and column in the file.
        text = raw if isinstance(raw, str) else raw.get("expression", "")
        at = path if isinstance(raw, str) else (*path, "expression")
        start = self._src.texts.get(at) or self.loc(at)
        line, col = line_col(text, offset)
        where = Location(
            start.file, start.line + line - 1, (start.col if line == 1 else 1) + col - 1
        )
        self.error(at, f"{message}\n{caret(text, offset)}", loc=where)

    def extensions(self, path: PathKey, value: Json) -> dict[str, str]:
        """`extensions: {acme: urn:...:User}`: users write `acme: {costCode: ...}`."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, "expected a mapping of alias to schema URN")
            return {}
        out: dict[str, str] = {}
        taken = {*A.USER_SIMPLE, "name", "enterprise", *A.USER_MULTI, "custom", "state"}
        for alias, urn in value.items():
            if not _ALIAS.match(alias) or alias in taken or alias in A.READ_ONLY:
                self.error((*path, alias), f"'{alias}' cannot be an extension alias")
            elif not isinstance(urn, str) or not urn.startswith("urn:") or urn.count(":") < 3:
                self.error((*path, alias), f"expected a schema URN, got {urn!r}")
            else:
                out[alias] = urn
        return out

    def quirks(self, path: PathKey, value: Json) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, "expected a mapping such as {patch: never}")
            return {}
        out: dict[str, str] = {}
        for key, item in value.items():
            if key not in QUIRKS:
                self.unknown(path, key, tuple(QUIRKS), "quirk")
            elif (chosen := self.choice((*path, key), item, QUIRKS[key])) is not None:
                out[key] = chosen
        return out

    def scope(self, path: PathKey, value: Json) -> Filter | None:
        if value in (None, []):
            return None
        for index, message in check_filter(value):
            self.error((*path, *index), message)
        try:
            return Filter.from_raw(value)
        except ValueError:
            return None

    def matchings(self, path: PathKey, value: Json) -> tuple[tuple[str, ...], tuple[str, ...]]:
        user: tuple[str, ...] = ("userName",)
        group: tuple[str, ...] = ("displayName",)
        if value is None:
            return user, group
        if not isinstance(value, dict):
            self.error(path, "expected a mapping with 'user' and 'group'")
            return user, group
        for key in value:
            if key not in ("user", "group"):
                self.unknown(path, key, ("user", "group"), "matching kind")
        if "user" in value:
            user = self.matching((*path, "user"), value["user"], A.USER_MATCHABLE)
        if "group" in value:
            group = self.matching((*path, "group"), value["group"], A.GROUP_MATCHABLE)
        return user, group

    def _check_url(self, path: PathKey, url: str, allow_http: bool) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.error(path, f"expected an http(s) URL, got {url!r}")
        elif parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_http:
            self.error(
                path,
                "https is required except for loopback addresses "
                "(allow_http: true overrides this, sending tokens in clear text)",
            )

    def ca_bundle(self, path: PathKey, value: Json) -> str | None:
        """A PEM file of CA certificates, relative to the spec file that names it."""
        if value is None or not self.string(path, value, nullable=False):
            return None
        where = Path(self.loc(path).file).parent / str(value)
        if not where.is_file():
            self.error(path, f"CA bundle {value!r} not found (looked for {where.as_posix()})")
            return None
        return where.as_posix()

    def auth(self, path: PathKey, body: Json) -> Auth:
        if not isinstance(body, dict):
            self.error(path, "expected a mapping such as {type: bearer, token_env: NAME}")
            return Auth()
        kind = self.choice((*path, "type"), body.get("type"), tuple(AUTH_FIELDS))
        if kind is None:
            return Auth()
        required = AUTH_FIELDS[kind]
        allowed = ("type", *required, *AUTH_OPTIONAL.get(kind, ()))
        for key, value in body.items():
            if key not in allowed:
                if key in ("token", "password", "client_secret", "username", "client_id"):
                    self.error(
                        (*path, key),
                        "secrets are never written in specs (secrets come from environment "
                        f"variables: use {key}_env)",
                    )
                else:
                    self.unknown(path, key, allowed, f"{kind} auth setting")
            elif key != "type":
                self.string((*path, key), value, nullable=False)
        for key in required:
            if key not in body:
                self.error(path, f"{kind} auth needs '{key}'")
        fields = {k: v for k, v in body.items() if k in allowed and k != "type"}
        return Auth(type=kind, **{k: str(v) for k, v in fields.items()})

    def matching(self, path: PathKey, value: Json, allowed: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.error(path, "expected a non-empty list of attributes in precedence order")
            return ()
        out: list[str] = []
        for index, attr in enumerate(value):
            if attr not in allowed:
                self.error(
                    (*path, index), f"cannot match on {attr!r} (supported: {', '.join(allowed)})"
                )
            elif attr in out:
                self.error((*path, index), f"{attr!r} is listed twice")
            else:
                out.append(attr)
        return tuple(out)

    def guards(self, path: PathKey, body: Json) -> None:
        if not isinstance(body, dict):
            self.error(path, "expected a mapping")
            return
        for key, value in body.items():
            if key == "max_deletes":
                self.integer((*path, key), value, 0, 10_000_000)
            elif key == "max_delete_percent":
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not 0 <= value <= 100
                ):
                    self.error((*path, key), f"expected a number from 0 to 100, got {value!r}")
            else:
                self.unknown(path, key, ("max_deletes", "max_delete_percent"), "guard")

    # -- users and groups ---------------------------------------------------------

    def user(self, path: PathKey, body: Json) -> None:
        if not isinstance(body, dict):
            self.error(path, f"a user must be a mapping, got {_type_name(body)}")
            return
        attrs: dict[str, Json] = {}
        locs: dict[str, Location] = {}
        custom: dict[str, Json] = {}
        aliases: list[str] = []
        state = self.state(path, body.get("state", "present"))
        for key, value in body.items():
            kpath = (*path, key)
            if key == "state":
                continue
            if key in A.READ_ONLY:
                self.error(kpath, A.READ_ONLY[key])
            elif key in A.USER_SIMPLE:
                self.simple(kpath, A.USER_SIMPLE[key], value, nullable=key != "userName")
                attrs[key] = value
                locs[key] = self.loc(kpath)
            elif key == "name":
                self.complex(kpath, value, A.NAME_PARTS, "name part", "name", attrs, locs)
            elif key == "enterprise":
                self.complex(
                    kpath,
                    value,
                    tuple(A.ENTERPRISE),
                    "enterprise attribute",
                    "enterprise",
                    attrs,
                    locs,
                )
            elif key in A.USER_MULTI:
                self.multi(kpath, value, A.USER_MULTI[key])
                attrs[key] = value
                locs[key] = self.loc(kpath)
            elif key == "custom":
                custom = self.custom(kpath, value)
            elif isinstance(value, dict) and _ALIAS.match(key):
                # A custom extension's attributes; that a target declares the alias is
                # checked once every file is read.
                aliases.append(key)
                for name, item in value.items():
                    if not (isinstance(item, str | bool | int | float) or item is None):
                        self.error((*kpath, name), "expected a string, number or boolean")
                    attrs[f"{key}.{name}"] = item
                    locs[f"{key}.{name}"] = self.loc((*kpath, name))
                locs[key] = self.loc(kpath)
            else:
                allowed = (*A.USER_SIMPLE, "name", "enterprise", *A.USER_MULTI, "custom", "state")
                self.unknown(path, key, allowed, "user attribute")
        user_name = body.get("userName")
        ok = isinstance(user_name, str) and bool(user_name.strip())
        if "userName" not in body:
            self.error(path, "missing 'userName'")
        elif isinstance(user_name, str) and not user_name.strip():
            self.error((*path, "userName"), "userName must not be empty")
        # Kept for the cross-file checks even with attribute errors, so that duplicates
        # and dangling references are reported in the same run; the spec is not used.
        if ok and state is not None:
            self.users.append(
                Declared(
                    kind=Kind.USER,
                    key=str(user_name),
                    attrs=attrs,
                    state=state,
                    location=self.loc(path),
                    attr_locations=locs,
                    custom=custom,
                    extension_aliases=tuple(aliases),
                )
            )

    def group(self, path: PathKey, body: Json) -> None:
        if not isinstance(body, dict):
            self.error(path, f"a group must be a mapping, got {_type_name(body)}")
            return
        attrs: dict[str, Json] = {}
        locs: dict[str, Location] = {}
        members: tuple[str, ...] | None = None
        subgroups: tuple[str, ...] = ()
        state = self.state(path, body.get("state", "present"))
        for key, value in body.items():
            kpath = (*path, key)
            if key == "state":
                continue
            if key == "groups":
                subgroups = self.members(kpath, value) or ()
                locs[key] = self.loc(kpath)
            elif key in A.GROUP_SIMPLE:
                self.simple(kpath, A.GROUP_SIMPLE[key], value, nullable=key != "displayName")
                attrs[key] = value
                locs[key] = self.loc(kpath)
            elif key == "members":
                members = self.members(kpath, value)
                locs[key] = self.loc(kpath)
            elif key in ("id", "meta", "schemas"):
                self.error(kpath, A.READ_ONLY[key])
            else:
                allowed = (*A.GROUP_SIMPLE, "members", "groups", "state")
                self.unknown(path, key, allowed, "group attribute")
        name = body.get("displayName")
        if "displayName" not in body:
            self.error(path, "missing 'displayName'")
        elif isinstance(name, str) and not name.strip():
            self.error((*path, "displayName"), "displayName must not be empty")
        if isinstance(name, str) and name.strip() and state is not None:
            self.groups.append(
                Declared(
                    kind=Kind.GROUP,
                    key=str(name),
                    attrs=attrs,
                    state=state,
                    # Nested groups make membership managed, even with no direct members.
                    members=members if members is not None or not subgroups else (),
                    location=self.loc(path),
                    attr_locations=locs,
                    subgroups=subgroups,
                )
            )

    def custom(self, path: PathKey, value: Json) -> dict[str, Json]:
        """Source-only attributes for mappings and scoping: strings, numbers, booleans, lists."""
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping of source attributes, got {_type_name(value)}")
            return {}
        out: dict[str, Json] = {}
        for key, item in value.items():
            scalar = isinstance(item, str | int | float | bool) or item is None
            listed = isinstance(item, list) and all(isinstance(i, str | int) for i in item)
            if not (scalar or listed):
                self.error((*path, key), "expected a string, number, boolean or list of strings")
            else:
                out[key] = item
        return out

    def state(self, path: PathKey, value: Json) -> State | None:
        chosen = self.choice((*path, "state"), value, ("present", "absent"))
        return State(chosen) if chosen else None

    def simple(self, path: PathKey, kind: str, value: Json, *, nullable: bool) -> None:
        if kind == A.BOOLEAN:
            if not isinstance(value, bool) and not (value is None and nullable):
                self.error(path, f"expected true or false, got {_type_name(value)}")
        else:
            self.string(path, value, nullable=nullable)

    def complex(
        self,
        path: PathKey,
        value: Json,
        parts: tuple[str, ...],
        what: str,
        prefix: str,
        attrs: dict[str, Json],
        locs: dict[str, Location],
    ) -> None:
        if value is None:
            attrs[prefix] = None
            locs[prefix] = self.loc(path)
            return
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, got {_type_name(value)}")
            return
        for key, part in value.items():
            if key not in parts:
                self.unknown(path, key, parts, what)
                continue
            self.string((*path, key), part)
            attrs[f"{prefix}.{key}"] = part
            locs[f"{prefix}.{key}"] = self.loc((*path, key))

    def multi(self, path: PathKey, value: Json, subs: tuple[str, ...]) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            self.error(path, f"expected a list, got {_type_name(value)}")
            return
        primaries = 0
        for index, item in enumerate(value):
            ipath = (*path, index)
            if not isinstance(item, dict):
                self.error(ipath, f"expected a mapping, got {_type_name(item)}")
                continue
            for key, sub in item.items():
                if key not in subs:
                    self.unknown(ipath, key, subs, "sub-attribute")
                elif key == "primary":
                    if not isinstance(sub, bool):
                        self.error((*ipath, key), f"expected true or false, got {_type_name(sub)}")
                    primaries += sub is True
                else:
                    self.string((*ipath, key), sub, nullable=False)
        if primaries > 1:
            # RFC 7643 §2.4: the primary attribute value "true" MUST appear no more than once.
            self.error(path, "more than one element has primary: true")

    def members(self, path: PathKey, value: Json) -> tuple[str, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(path, f"expected a list of user keys, got {_type_name(value)}")
            return None
        out: list[str] = []
        for index, item in enumerate(value):
            if self.string((*path, index), item, nullable=False):
                out.append(item)
        return tuple(out)

    # -- across files ---------------------------------------------------------------

    def cross_checks(self) -> None:
        users: dict[str, Declared] = {}
        for user in self.users:
            folded = user.key.casefold()
            if folded in users:
                first = users[folded]
                self.error_at(
                    user,
                    "userName",
                    f"duplicate user: '{first.key}' is already declared at {first.location}",
                )
            else:
                users[folded] = user
        groups: dict[str, Declared] = {}
        for group in self.groups:
            folded = group.key.casefold()
            if folded in groups:
                first = groups[folded]
                self.error_at(
                    group,
                    "displayName",
                    f"duplicate group: '{first.key}' is already declared at {first.location}",
                )
            else:
                groups[folded] = group
        resolved_users = self._resolve_references(users)
        self.users = resolved_users
        self.groups = self._resolve_subgroups(
            [self._resolve_members(g, users) for g in groups.values()]
        )
        known = {alias for t in self.targets.values() for alias in t.extensions}
        for user in self.users:
            for alias in user.extension_aliases:
                if alias not in known:
                    allowed = (*A.USER_SIMPLE, "name", "enterprise", *A.USER_MULTI, *known)
                    close = difflib.get_close_matches(alias, allowed, n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    self.error_at(
                        user,
                        alias,
                        f"unknown user attribute '{alias}'{hint}: not SCIM, and no target "
                        "declares it under extensions",
                    )
        for target in self.targets.values():
            self._check_matching(target, Kind.USER, target.user_matching, self.users)
            self._check_matching(target, Kind.GROUP, target.group_matching, self.groups)
            if target.prune == "owned" and target.ownership_prefix:
                self._check_ownership(target, target.ownership_prefix)

    def error_at(self, obj: Declared, attr: str, message: str) -> None:
        loc = obj.attr_locations.get(attr, obj.location) or Location("<spec>", 1, 1)
        prefix = "users" if obj.kind is Kind.USER else "groups"
        self.issues.append(
            SpecIssue(loc.file, loc.line, loc.col, f"{prefix}[{obj.key}].{attr}", message)
        )

    def _resolve_references(self, users: dict[str, Declared]) -> list[Declared]:
        out = []
        for user in users.values():
            manager = user.attrs.get("enterprise.manager")
            if manager is None:
                out.append(user)
                continue
            target = users.get(str(manager).casefold())
            if target is None:
                self.error_at(
                    user, "enterprise.manager", f"manager '{manager}' is not a declared user"
                )
            elif target is user:
                self.error_at(user, "enterprise.manager", "a user cannot be their own manager")
            elif not target.present:
                self.error_at(user, "enterprise.manager", f"manager '{manager}' has state: absent")
            else:
                attrs = dict(user.attrs)
                attrs["enterprise.manager"] = target.key
                out.append(dataclasses.replace(user, attrs=attrs))
                continue
            out.append(user)
        return out

    def _resolve_subgroups(self, groups: list[Declared]) -> list[Declared]:
        """Nested groups name declared groups; a cycle would make membership undefined."""
        by_key = {g.key.casefold(): g for g in groups}
        out: list[Declared] = []
        for group in groups:
            keys: list[str] = []
            for name in group.subgroups:
                child = by_key.get(name.casefold())
                if child is None:
                    self.error_at(group, "groups", f"group '{name}' is not a declared group")
                elif child is group:
                    self.error_at(group, "groups", "a group cannot contain itself")
                elif not child.present:
                    self.error_at(group, "groups", f"group '{name}' has state: absent")
                else:
                    keys.append(child.key)
            out.append(dataclasses.replace(group, subgroups=tuple(keys)))
        graph = {g.key: g.subgroups for g in out}
        for group in out:
            cycle = _cycle(group.key, graph)
            if cycle and cycle[0] == group.key:
                self.error_at(group, "groups", "nested groups form a cycle: " + " → ".join(cycle))
        return out

    def _resolve_members(self, group: Declared, users: dict[str, Declared]) -> Declared:
        if group.members is None:
            return group
        resolved: list[str] = []
        seen: set[str] = set()
        for member in group.members:
            user = users.get(member.casefold())
            if user is None:
                self.error_at(group, "members", f"member '{member}' is not a declared user")
            elif not user.present:
                self.error_at(group, "members", f"member '{member}' has state: absent")
            elif user.key in seen:
                self.error_at(group, "members", f"member '{member}' is listed twice")
            else:
                seen.add(user.key)
                resolved.append(user.key)
        return dataclasses.replace(group, members=tuple(resolved))

    def _check_ownership(self, target: Target, prefix: str) -> None:
        """With prune: owned, the externalId scimrec writes is what marks an object as owned."""
        for obj in (*self.users, *self.groups):
            external = obj.attrs.get("externalId")
            if obj.present and not (isinstance(external, str) and external.startswith(prefix)):
                self.error_at(
                    obj,
                    "externalId",
                    f"target '{target.name}' prunes owned objects, so externalId must start "
                    f"with '{prefix}'",
                )

    def _check_matching(
        self, target: Target, kind: Kind, matching: tuple[str, ...], objects: list[Declared]
    ) -> None:
        if not matching:
            return
        first = matching[0]
        seen: dict[tuple[str, str], Declared] = {}
        for obj in objects:
            value = _declared_match_value(obj, first)
            if value is None:
                self.error_at(
                    obj,
                    first,
                    f"missing '{first}', the first matching attribute of target '{target.name}'",
                )
            for attr in matching:
                value = _declared_match_value(obj, attr)
                if value is None:
                    continue
                folded = (attr, value.casefold() if attr in A.MATCH_CASE_INSENSITIVE else value)
                other = seen.get(folded)
                # The key attribute's duplicates are reported as duplicate objects, above.
                own_key = "userName" if kind is Kind.USER else "displayName"
                if other is not None and other is not obj and attr != own_key:
                    self.error_at(
                        obj,
                        attr,
                        f"'{value}' is also the {attr} of '{other.key}'; "
                        f"target '{target.name}' matches on it",
                    )
                seen[folded] = obj


def _cycle(start: str, graph: Mapping[str, tuple[str, ...]]) -> list[str]:
    """A path from `start` back to itself through nested groups, or [] if none."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for child in graph.get(node, ()):
            if child == start:
                return [*path, child]
            if child not in seen:
                seen.add(child)
                stack.append((child, [*path, child]))
    return []


def _declared_match_value(obj: Declared, attr: str) -> str | None:
    if attr == "emails.value":
        value = A.primary_value(obj.attrs.get("emails"))
    else:
        value = obj.attrs.get(attr)
    return value if isinstance(value, str) and value else None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _type_name(value: Json) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
