"""The `users:` and `groups:` parts of a spec: SCIM attributes, members, custom and extensions."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from reconciler.core import attributes as A
from reconciler.core.model import Declared, Json, Kind, Location, State
from reconciler.spec.checks import CheckBase, type_name
from reconciler.spec.safety import POLICIES
from reconciler.spec.source import Loaded, PathKey
from reconciler.spec.targets import ALIAS

# What a group may declare besides its attributes and members: its former names, and the
# members it must keep (spec/assignment.py checks what they name).
GROUP_EXTRAS = ("previously", "required_members", "min_members")
USER_KEYS = (
    *A.USER_SIMPLE,
    "name",
    "enterprise",
    *A.USER_MULTI,
    "custom",
    "deprovision",
    "previously",
    "state",
)
_ENTERPRISE_PARTS = tuple(A.ENTERPRISE)
# The flat path of each allowed part of a complex attribute (`name.givenName`), by prefix
# and the parts allowed there.
_FLAT_NAMES: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
# Shared by every object without `custom:` (nearly all), instead of an empty dict each.
NO_CUSTOM: Mapping[str, Json] = MappingProxyType({})


class ObjectRules(CheckBase):
    def user(self, path: PathKey, body: Json) -> None:
        if not isinstance(body, dict):
            self.error(path, f"a user must be a mapping, got {type_name(body)}")
            return
        attrs: dict[str, Json] = {}
        locs: dict[str, Location] = {}
        custom: dict[str, Json] = {}
        aliases: list[str] = []
        deprovision: str | None = None
        previously: tuple[str, ...] = ()
        state = self.state(path, body.get("state", "present"))
        exact = self._reread is None
        for key, value in body.items():
            if key in A.USER_SIMPLE:  # most of a large spec: no path built unless needed
                if value.__class__ is not str or A.USER_SIMPLE[key] == A.BOOLEAN:
                    self.simple((*path, key), A.USER_SIMPLE[key], value, nullable=key != "userName")
                attrs[key] = value
                if exact:
                    locs[key] = self.loc((*path, key))
                continue
            kpath = (*path, key)
            if key == "state":
                continue
            if key in A.READ_ONLY:
                self.error(kpath, A.READ_ONLY[key])
            elif key == "name":
                self.complex(kpath, value, A.NAME_PARTS, "name part", "name", attrs, locs)
            elif key == "enterprise":
                self.complex(
                    kpath,
                    value,
                    _ENTERPRISE_PARTS,
                    "enterprise attribute",
                    "enterprise",
                    attrs,
                    locs,
                )
            elif key in A.USER_MULTI:
                self.multi(kpath, value, A.USER_MULTI[key])
                attrs[key] = value
                self.at(locs, key, kpath)
            elif key == "custom":
                custom = self.custom(kpath, value)
            elif key == "deprovision":
                deprovision = self.choice(kpath, value, ("disable", "delete"))
            elif key == "previously":
                previously = self.members(kpath, value) or ()
                self.at(locs, key, kpath)
            elif isinstance(value, dict) and ALIAS.match(key):
                aliases.append(key)
                self.extension(kpath, value, attrs, locs)
            else:
                self.unknown(path, key, USER_KEYS, "user attribute")
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
                    attr_locations=self.positions(locs, path),
                    custom=custom or NO_CUSTOM,
                    extension_aliases=tuple(aliases),
                    deprovision=deprovision,
                    previously=previously,
                )
            )

    def extension(
        self,
        path: PathKey,
        value: dict[str, Json],
        attrs: dict[str, Json],
        locs: dict[str, Location],
    ) -> None:
        """A custom extension's attributes; that a target declares its alias is checked once
        every file is read."""
        key = str(path[-1])
        for name, item in value.items():
            if not (isinstance(item, str | bool | int | float) or item is None):
                self.error((*path, name), "expected a string, number or boolean")
            attrs[f"{key}.{name}"] = item
            self.at(locs, f"{key}.{name}", (*path, name))
        self.at(locs, key, path)

    def group(self, path: PathKey, body: Json) -> None:
        if not isinstance(body, dict):
            self.error(path, f"a group must be a mapping, got {type_name(body)}")
            return
        attrs: dict[str, Json] = {}
        locs: dict[str, Location] = {}
        members: tuple[str, ...] | None = None
        subgroups: tuple[str, ...] = ()
        state = self.state(path, body.get("state", "present"))
        policy = None
        required: tuple[str, ...] = ()
        least: int | None = None
        previously: tuple[str, ...] = ()
        for key, value in body.items():
            kpath = (*path, key)
            if key == "state":
                continue
            if key == "members_policy":
                policy = self.choice(kpath, value, POLICIES)
                continue
            if key in GROUP_EXTRAS:
                self.at(locs, key, kpath)
                if key == "min_members":
                    least = self.integer(kpath, value, 0, 10_000_000) if value is not None else None
                elif key == "required_members":
                    required = self.members(kpath, value) or ()
                else:
                    previously = self.members(kpath, value) or ()
                continue
            if key == "groups":
                subgroups = self.members(kpath, value) or ()
                self.at(locs, key, kpath)
            elif key in A.GROUP_SIMPLE:
                self.simple(kpath, A.GROUP_SIMPLE[key], value, nullable=key != "displayName")
                attrs[key] = value
                self.at(locs, key, kpath)
            elif key == "members":
                members = self.members(kpath, value)
                self.at(locs, key, kpath)
            elif key in ("id", "meta", "schemas"):
                self.error(kpath, A.READ_ONLY[key])
            else:
                allowed = (
                    *A.GROUP_SIMPLE,
                    "members",
                    "groups",
                    "members_policy",
                    *GROUP_EXTRAS,
                    "state",
                )
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
                    attr_locations=self.positions(locs, path),
                    subgroups=subgroups,
                    members_policy=policy,
                    previously=previously,
                    required_members=required,
                    min_members=least,
                )
            )

    def custom(self, path: PathKey, value: Json) -> dict[str, Json]:
        """Source-only attributes for mappings and scoping: strings, numbers, booleans, lists."""
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping of source attributes, got {type_name(value)}")
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
        if value == "present" and value.__class__ is str:
            return State.PRESENT  # nearly every object: no path built, no enum looked up
        chosen = self.choice((*path, "state"), value, ("present", "absent"))
        return State(chosen) if chosen else None

    def simple(self, path: PathKey, kind: str, value: Json, *, nullable: bool) -> None:
        if kind == A.BOOLEAN:
            if not isinstance(value, bool) and not (value is None and nullable):
                self.error(path, f"expected true or false, got {type_name(value)}")
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
            self.at(locs, prefix, path)
            return
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, got {type_name(value)}")
            return
        exact = self._reread is None
        # One string per flat path for the whole spec, not one per object (a tenth of a
        # large spec's memory), and no formatting per attribute.
        names = _FLAT_NAMES.setdefault((prefix, parts), {})
        for key, part in value.items():
            name = names.get(key)
            if name is None:
                if key not in parts:
                    self.unknown(path, key, parts, what)
                    continue
                name = names[key] = f"{prefix}.{key}"
            if part.__class__ is not str:  # a string passes at once
                self.string((*path, key), part)
            attrs[name] = part
            if exact:
                locs[name] = self.loc((*path, key))

    def multi(self, path: PathKey, value: Json, subs: tuple[str, ...]) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            self.error(path, f"expected a list, got {type_name(value)}")
            return
        primaries = 0
        for index, item in enumerate(value):
            ipath = (*path, index)
            if not isinstance(item, dict):
                self.error(ipath, f"expected a mapping, got {type_name(item)}")
                continue
            for key, sub in item.items():
                if key not in subs:
                    self.unknown(ipath, key, subs, "sub-attribute")
                elif key == "primary":
                    if not isinstance(sub, bool):
                        self.error((*ipath, key), f"expected true or false, got {type_name(sub)}")
                    primaries += sub is True
                elif sub.__class__ is not str:  # a string passes at once
                    self.string((*ipath, key), sub, nullable=False)
        if primaries > 1:
            # RFC 7643 §2.4: the primary attribute value "true" MUST appear no more than once.
            self.error(path, "more than one element has primary: true")

    def members(self, path: PathKey, value: Json) -> tuple[str, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(path, f"expected a list of user keys, got {type_name(value)}")
            return None
        out: list[str] = []
        for index, item in enumerate(value):
            if self.string((*path, index), item, nullable=False):
                out.append(item)
        return tuple(out)


def exact_positions(loaded: Loaded, path: PathKey) -> Mapping[str, Location]:
    """The attribute positions of the user or group at `path` (`("users", 3)`) in a file's
    exact read, as the rules above note them: for a quick read's later messages."""
    rules = ObjectRules()
    rules._src = loaded
    body = loaded.value
    for part in path:
        body = body[part]
    if path[0] == "users":
        rules.user(path, body)
        declared = rules.users
    else:
        rules.group(path, body)
        declared = rules.groups
    return declared[0].attr_locations if declared else {}
