"""The `targets:` part of a spec: matching, safety, bounds, mappings, scope (how a target
is reached, its URL, TLS and credentials, is access.py's; its quirks, quirks.py's)."""

from __future__ import annotations

import dataclasses
import math
import re
from urllib.parse import urlsplit

from reconciler.core import attributes as A
from reconciler.core.config import DEFAULT_MAX_OBJECTS, Target
from reconciler.core.mapping import AttrMapping, compile_one, targets_for
from reconciler.core.model import ENTERPRISE_URN, Json, Kind, Location
from reconciler.core.scope import Filter, check_filter
from reconciler.core.urls import shown_url
from reconciler.expressions.syntax import caret, line_col
from reconciler.spec.access import AccessRules
from reconciler.spec.assignment import AssignmentRules
from reconciler.spec.lifecycle import LifecycleRules
from reconciler.spec.quirks import QuirkRules
from reconciler.spec.safety import POLICIES, SafetyRules
from reconciler.spec.source import PathKey

TARGET_KEYS = (
    "url",
    "auth",
    "matching",
    "deprovision",
    "prune",
    "guards",
    "members_policy",
    "scope",
    "mappings",
    "page_size",
    "concurrency",
    "timeout_seconds",
    "request_timeout_seconds",
    "run_timeout_seconds",
    "max_response_mib",
    "max_objects",
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
    "assign",
    "roles",
)
# SCIM endpoints (RFC 7644 §3.2), which a base URL never ends in.
ENDPOINTS = frozenset(
    e.casefold()
    for e in ("Users", "Groups", "ServiceProviderConfig", "Schemas", "ResourceTypes", "Bulk", "Me")
)
# A target's name becomes part of GitHub environment and artifact names, of `{target}` file
# paths and of the action's `targets` input (split on whitespace): what is safe in all of them.
TARGET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# The action once read the word `all` in `targets` as --all-targets: a matrix job for a target
# so named ran every target with that target's credentials. Reserved in any case.
RESERVED_NAMES = frozenset({"all"})
# An extension alias names a key users write attributes under; it must not shadow SCIM's.
ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Schemas an extension alias may not name: an attribute written under one is a core or
# enterprise attribute under another name (RFC 7644 §3.10: `urn:...:core:2.0:User:active`
# is `active`), which the diff, the guards and `protected` would not recognise, so a
# disable or a rename would pass as an update. Compared case-insensitively, as targets do.
NOT_EXTENSIONS = (
    "urn:ietf:params:scim:schemas:core:",
    "urn:ietf:params:scim:api:",
    ENTERPRISE_URN.casefold(),
)


# The slowest `max_rps`: a request every 100 s. A slower pace outwaits any sensible run
# between two requests (1e-10 overflowed the sleep itself), so it is a mistake in the spec.
MIN_RPS = 0.01
# The longest wait and run a target may set: a week. Past about 1e9 s a socket's timeout no
# longer fits the platform's time_t, and the run would end as a bug instead of waiting.
MAX_SECONDS = 7 * 24 * 3600
# The largest response body a target may allow, in MiB: a tebibyte, far past any listing.
MAX_RESPONSE_MIB = 1024 * 1024


class TargetRules(SafetyRules, AccessRules, LifecycleRules, AssignmentRules, QuirkRules):
    def target(self, path: PathKey, name: str, body: Json) -> None:
        before = len(self.issues)
        self._check_name(path, name)
        if not isinstance(body, dict):
            self.error(path, "expected a mapping")
            return
        for key in body:
            if key not in TARGET_KEYS:
                self.unknown(path, key, TARGET_KEYS, "target setting")
        url = body.get("url")
        allow_http = body.get("allow_http", False)
        if not isinstance(allow_http, bool):
            self.error((*path, "allow_http"), "expected true or false")
        if url is None:
            self.error(path, "missing 'url'")
        elif self.string((*path, "url"), url, nullable=False) and self._check_url(
            (*path, "url"), url, allow_http is True
        ):
            self._check_base_url((*path, "url"), url)
        ca_bundle = self.ca_bundle((*path, "ca_bundle"), body.get("ca_bundle"))
        max_rps = body.get("max_rps")
        if max_rps is not None and (
            isinstance(max_rps, bool)
            or not isinstance(max_rps, int | float)
            or not MIN_RPS <= max_rps < math.inf  # NaN too
        ):
            self.error(
                (*path, "max_rps"),
                f"expected a number of requests per second from {MIN_RPS:g} (one every "
                f"{1 / MIN_RPS:g} s), got {max_rps!r}",
            )
        auth = self.auth((*path, "auth"), body.get("auth", {"type": "none"}), allow_http is True)
        user_matching, group_matching = self.matchings((*path, "matching"), body.get("matching"))
        deprovision, lifecycle = self.deprovision_setting((*path, "deprovision"), body)
        assignment = self.assignment_settings(path, name, body)
        prune = self.choice((*path, "prune"), body.get("prune", "none"), ("none", "owned", "all"))
        protected = self.patterns((*path, "protected"), body.get("protected", []))
        prefix = self.ownership((*path, "ownership"), body.get("ownership"))
        if prune == "owned" and not prefix:
            self.error(
                (*path, "prune"),
                "prune: owned needs ownership: {external_id_prefix: ...} to recognise objects",
            )
        user_mappings, group_mappings = self.mappings(
            (*path, "mappings"), body.get("mappings"), _aliases(body.get("extensions"))
        )
        scope = self.scope((*path, "scope"), body.get("scope"))
        out_of_scope = self.choice(
            (*path, "out_of_scope"), body.get("out_of_scope", "skip"), ("skip", "deprovision")
        )
        quirks, not_kept = self.quirks((*path, "quirks"), body.get("quirks"))
        extensions = self.extensions((*path, "extensions"), body.get("extensions"))
        nested_groups = self.choice(
            (*path, "nested_groups"), body.get("nested_groups", "flatten"), ("flatten", "native")
        )
        guards = self.guards((*path, "guards"), body.get("guards") or {})
        members_policy = self.choice(
            (*path, "members_policy"), body.get("members_policy", "exact"), POLICIES
        )
        page_size = self.integer((*path, "page_size"), body.get("page_size", 500), 1, 10_000)
        concurrency = self.integer((*path, "concurrency"), body.get("concurrency", 8), 1, 64)
        chunk = self.integer(
            (*path, "membership_chunk"), body.get("membership_chunk", 100), 1, 10_000
        )
        timeout = self.positive(
            (*path, "timeout_seconds"), body.get("timeout_seconds", 30), MAX_SECONDS
        )
        request_timeout = self.positive(
            (*path, "request_timeout_seconds"),
            body.get("request_timeout_seconds", 120),
            MAX_SECONDS,
        )
        run_timeout = self.positive(
            (*path, "run_timeout_seconds"), body.get("run_timeout_seconds", 21_600), MAX_SECONDS
        )
        max_response = self.positive(
            (*path, "max_response_mib"), body.get("max_response_mib", 64), MAX_RESPONSE_MIB
        )
        max_objects = self.integer(
            (*path, "max_objects"), body.get("max_objects", DEFAULT_MAX_OBJECTS), 1, 100_000_000
        )
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
            deprovision=deprovision,
            prune=prune or "none",
            page_size=page_size or 500,
            concurrency=concurrency or 8,
            timeout_seconds=timeout,
            request_timeout_seconds=request_timeout,
            run_timeout_seconds=run_timeout,
            max_response_mib=max_response,
            max_objects=max_objects or DEFAULT_MAX_OBJECTS,
            membership_chunk=chunk or 100,
            max_deletes=_whole(guards.get("max_deletes")),
            max_delete_percent=guards.get("max_delete_percent"),
            max_member_removals=_whole(guards.get("max_member_removals")),
            max_member_removal_percent=guards.get("max_member_removal_percent"),
            members_policy=members_policy or "exact",
            protected=protected,
            ownership_prefix=prefix,
            ca_bundle=ca_bundle,
            user_mappings=user_mappings,
            group_mappings=group_mappings,
            scope=scope,
            out_of_scope=out_of_scope or "skip",
            quirks=quirks,
            not_kept=not_kept,
            extensions=extensions,
            nested_groups=nested_groups or "flatten",
            max_rps=float(max_rps) if max_rps else None,
            location=self.loc(path),
            **lifecycle,
            **assignment,
        )

    def _check_name(self, path: PathKey, name: str) -> None:
        if name.casefold() in RESERVED_NAMES:
            self.error(path, f"the target name {name!r} is reserved: give the target another name")
        elif not TARGET_NAME.fullmatch(name) or ".." in name:
            self.error(
                path,
                f"the target name {name!r} is not allowed: use letters, digits, '_', '.' and "
                "'-', starting with a letter or digit, never '..' (the name goes into "
                "environment, artifact and file names)",
            )

    def positive(self, path: PathKey, value: Json, most: int) -> float:
        # Written `not 0 < value <= most` so that NaN (.nan), which no comparison holds for,
        # is refused with infinity: either broke the run (a NaN deadline never passed).
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= most:
            self.error(path, f"expected a number above 0 and at most {most}, got {value!r}")
            return 1.0
        return float(value)

    def mappings(
        self, path: PathKey, value: Json, aliases: frozenset[str] = frozenset()
    ) -> tuple[tuple[AttrMapping, ...], tuple[AttrMapping, ...]]:
        """`mappings: {user: {TARGET_ATTR: {source|constant|expression, apply, default}}}`;
        a user's TARGET_ATTR may also be `ALIAS.attribute` of an extension the target takes."""
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
                extension = kind_name == "user" and attr.partition(".")[0] in aliases
                if attr not in allowed and not (extension and ALIAS.match(attr.partition(".")[2])):
                    self.unknown((*path, kind_name), attr, sorted(allowed), "mapping target")
                    continue
                mapping, problems = compile_one(attr, raw)
                for sub, message, offset in problems:
                    self._mapping_issue(apath, raw, sub, message, offset)
                if mapping is not None:
                    out[kind_name].append(dataclasses.replace(mapping, location=self.loc(apath)))
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
        taken = {
            *A.USER_SIMPLE,
            "name",
            "enterprise",
            *A.USER_MULTI,
            "custom",
            "deprovision",
            "previously",
            "state",
        }
        for alias, urn in value.items():
            if not ALIAS.match(alias) or alias in taken or alias in A.READ_ONLY:
                self.error((*path, alias), f"'{alias}' cannot be an extension alias")
            elif not isinstance(urn, str) or not urn.startswith("urn:") or urn.count(":") < 3:
                self.error((*path, alias), f"expected a schema URN, got {urn!r}")
            elif urn.strip().casefold().startswith(NOT_EXTENSIONS):
                self.error(
                    (*path, alias),
                    f"{urn!r} is not an extension: core attributes are declared as they are, "
                    "the enterprise extension under `enterprise:`",
                )
            else:
                out[alias] = urn
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

    def _check_base_url(self, path: PathKey, url: str) -> None:
        """The SCIM base URL, not one of its endpoints (a common copy-paste mistake)."""
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            # A query or fragment (an API key, often) would be printed with the URL, and
            # cannot be a base URL: scimrec adds /Users and the rest after it.
            self.error(path, "the URL carries a query or fragment: give the SCIM base URL")
            return
        endpoint = parts.path.rstrip("/").rpartition("/")[2]
        if endpoint.casefold() in ENDPOINTS:
            base = url.rstrip("/")[: -len(endpoint)].rstrip("/")
            self.error(
                path,
                f"the URL ends in /{endpoint}: give the SCIM base URL "
                f"({shown_url(base)!r}); scimrec adds /Users, /Groups and the rest itself",
            )

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


def _aliases(extensions: Json) -> frozenset[str]:
    """The extension aliases a target declares, as written (checked by extensions())."""
    return frozenset(extensions) if isinstance(extensions, dict) else frozenset()


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)
