"""The doctor's temporary user and group: their names, their creation, and their removal
afterwards (always, even when a probe fails or is interrupted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from reconciler.core import attributes as A
from reconciler.core.match import normalise
from reconciler.core.model import GROUP_SCHEMA, USER_SCHEMA, Json
from reconciler.doctor.findings import FAIL, INFO, OK, WARN, Finding, body_of, failure
from reconciler.errors import ScimHTTPError, ScimProtocolError, ScimrecError
from reconciler.scim.apply.refusals import wants_display, wants_ref
from reconciler.scim.client import Reply, ScimClient
from reconciler.scim.paging import read_all
from reconciler.scim.search import find
from reconciler.scim.writes import id_in_location, resource_path

DOMAIN = "invalid.example"  # RFC 2606: no mailbox can ever live there
PREFIX = "scimrec-doctor-"


def member_ids(body: dict[str, Json]) -> list[str]:
    members = body.get("members")
    if not isinstance(members, list):
        return []
    return [str(m.get("value")) for m in members if isinstance(m, dict)]


def stem_of(new_name: Callable[[], str]) -> str:
    name = new_name()
    return name if name.startswith(PREFIX) else f"{PREFIX}{name}"


@dataclass
class Scratch:
    """The temporary objects of one doctor run; every one is deleted by `cleanup`."""

    client: ScimClient
    stem: str
    page_size: int
    user: dict[str, Json] = field(default_factory=dict)
    group: dict[str, Json] = field(default_factory=dict)
    created: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, id)
    unknown: list[tuple[str, str, str]] = field(default_factory=list)  # (endpoint, attr, value)
    # Ids a create's Location named that answer 404 (scimgateway's `.../Users/undefined`).
    unserved: set[tuple[str, str]] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    works: dict[str, bool] = field(default_factory=dict)  # what the probes found usable

    def read_group(self, path: str) -> dict[str, Json]:
        """The group as apply reads it: where a plain GET shows no members, read again
        asking for them (RFC 7644 §3.9; Keycloak 26.6+ returns them only on request), as
        scim/reads_by_id.py does. Read plainly, an add that worked would look ignored, and
        the probes would report memberships that work as broken. Said once, as info."""
        body = body_of(self.client.get(path))
        if body.get("members"):
            # A GET that shows members shows who is in a group: one that shows none holds
            # none, and is not read again (a request per probe saved).
            self.works["members_shown"] = True
            return body
        if self.works.get("members_shown"):
            return body
        try:
            asked = body_of(self.client.get(path, {"attributes": "members"}))
        except (ScimHTTPError, ScimProtocolError):
            return body  # a target that refuses `attributes`: its plain GET is all there is
        members = asked.get("members")
        if not members:
            return body
        if not self.works.get("members_on_request"):
            self.works["members_on_request"] = True
            seen = "a group's GET shows its members only when asked for them (attributes=members)"
            action = "scimrec asks for them where a group's GET shows none, as apply does"
            self.findings.append(Finding("groups", "members on request", INFO, seen, action))
        return {**body, "members": members}

    @property
    def user_name(self) -> str:
        return f"{self.stem}@{DOMAIN}"

    def post(self, endpoint: str, body: dict[str, Json], key: str) -> Reply:
        """Create an object and remember it for cleanup, even when its id is not known.

        The id a create answers with is the target's word, and every probe then writes to
        it and the cleanup deletes it: it is taken only once the object it names holds the
        `key` just sent. An answer naming another object (a buggy or hostile target, an
        upsert onto an existing account) is refused; the object really made, if any, is
        then looked for by name at cleanup, as one whose id is not known.
        """
        value = str(body[key])
        try:
            reply = self.client.create(endpoint, body)
        except ScimHTTPError as exc:
            if exc.status == 0 or exc.status >= 500:  # it may exist anyway
                self.unknown.append((endpoint, key, value))
            raise
        rid = created_id(reply, endpoint)
        if not rid:
            self.unknown.append((endpoint, key, value))
            return reply
        try:
            held = self._held(reply, endpoint, rid, key)
        except ScimrecError as exc:
            self.unknown.append((endpoint, key, value))
            if isinstance(exc, ScimHTTPError) and exc.status == 404:
                # Made, but not where the answer says: looked up by name, as apply does.
                self.unserved.add((endpoint, rid))
                return reply
            raise
        if not (isinstance(held, str) and normalise(key, held) == normalise(key, value)):
            self.unknown.append((endpoint, key, value))
            seen = (
                f"answered with the id {rid!r} of an object whose {key} is {held!r}, not the "
                f"{value!r} just created: the doctor neither writes to it nor deletes it"
            )
            action = (
                "scimrec records a created id only when its object is the one sent; fix the "
                "target before applying"
            )
            self.findings.append(Finding("create", f"POST {endpoint} id", FAIL, seen, action))
            raise ScimProtocolError(f"POST {endpoint} {seen}")
        self.created.append((endpoint, rid))
        return reply

    def _held(self, reply: Reply, endpoint: str, rid: str, key: str) -> Json:
        """The `key` of the object `rid` names: from the answer when it is that object,
        else as the target now holds it."""
        answered = body_of(reply)
        if answered.get("id") not in (None, "") and str(answered.get("id")) == rid:
            return A.read(answered, key)
        return A.read(body_of(self.client.get(resource_path(endpoint, rid))), key)

    def id_of(self, reply: Reply, endpoint: str, key: str, value: str) -> str | None:
        """The id of a created object: from the answer, else looked up as scimrec would."""
        rid = created_id(reply, endpoint)
        if (endpoint, rid) in self.unserved:
            rid = None
        if rid is not None and (endpoint, rid) not in self.created:
            return None  # `post` did not take it as the object created
        if rid is None:
            found = find(self.client, endpoint, key, value, self.page_size)
            rid = found[0].id if len(found) == 1 else None
            if rid is not None:
                self.created.append((endpoint, rid))
        return rid

    def user_ref(self) -> str:
        """The temporary user's `$ref`: its meta.location, else built from its id."""
        meta = self.user.get("meta")
        location = meta.get("location") if isinstance(meta, dict) else None
        return str(location or f"{self.client.base_url}/Users/{self.user['id']}")

    def member(self, uid: str) -> dict[str, Json]:
        """The temporary user as a member, with `$ref` and `display` where the target
        wants them."""
        entry: dict[str, Json] = {"value": uid}
        if self.works.get("member_ref"):
            entry["$ref"] = self.user_ref()
        if self.works.get("member_display"):
            entry["display"] = self.user.get("userName")
        return entry

    def discard(self, endpoint: str, rid: str) -> None:
        """Delete one temporary object now (a duplicate the target should have refused);
        only one `post` took as created."""
        if (endpoint, rid) not in self.created:
            return
        self.client.delete(resource_path(endpoint, rid), None)
        self.created.remove((endpoint, rid))

    def cleanup(self) -> Finding:
        gone: list[str] = []
        problems: list[str] = []
        # Groups first, so no group is left pointing at a deleted user.
        order = sorted(reversed(self.created), key=lambda c: c[0] != "/Groups")
        for endpoint, rid in dict.fromkeys(order):
            self._delete(endpoint, rid, gone, problems)
        tried = {*gone, *(p.split(" ")[0] for p in problems)}
        for endpoint, attr, value in self.unknown:
            try:
                listing = read_all(self.client, endpoint, self.page_size)
            except ScimrecError as exc:
                problems.append(f"cannot list {endpoint} to find {value} ({failure(exc)})")
                continue
            for resource in listing.resources:
                have = A.read(resource.body, attr)
                same = isinstance(have, str) and normalise(attr, have) == normalise(attr, value)
                if same and f"{endpoint}/{resource.id}" not in tried:
                    self._delete(endpoint, resource.id, gone, problems)
        if problems:
            return Finding(
                "cleanup",
                "temporary objects",
                FAIL,
                f"could not delete {', '.join(problems)}",
                "delete these objects by hand; their names start with " + PREFIX,
            )
        return Finding(
            "cleanup",
            "temporary objects",
            OK,
            f"deleted {len(gone)} temporary object(s): {', '.join(gone) or 'none'}",
            "the target holds nothing the doctor created",
        )

    def _delete(self, endpoint: str, rid: str, gone: list[str], problems: list[str]) -> None:
        where = f"{endpoint}/{rid}"
        try:
            status = self.client.delete(resource_path(endpoint, rid), None).status
        except ScimHTTPError as exc:
            if exc.status != 404:
                problems.append(f"{where} ({failure(exc)})")
                return
        except ScimrecError as exc:
            problems.append(f"{where} ({failure(exc)})")
            return
        else:
            # Read back, as apply verifies its deletes: a target that only deactivates on
            # DELETE (django-scim2-server) answers success and keeps the object.
            if (still := self._still_served(endpoint, rid)) is not None:
                problems.append(f"{where} (DELETE answered {status}, but {still})")
                return
        gone.append(where)

    def _still_served(self, endpoint: str, rid: str) -> str | None:
        """How the target still serves a deleted object, or None where it is gone."""
        try:
            held = self.client.get(resource_path(endpoint, rid)).body
        except ScimrecError:
            return None  # a 404 (RFC 7644 §3.6), or no read to say otherwise
        if not isinstance(held, dict) or str(held.get("id", "")) != rid:
            return None
        active = held.get("active")
        state = f", active: {str(active).lower()}" if isinstance(active, bool) else ""
        return f"it is still served{state}: the target keeps what it deletes"


@contextmanager
def scratch_objects(client: ScimClient, stem: str, page_size: int) -> Iterator[Scratch]:
    """A temporary user and group (created by the caller), deleted whatever happens."""
    scratch = Scratch(client, stem, page_size)
    try:
        yield scratch
    finally:
        scratch.findings.append(scratch.cleanup())


def created_id(reply: Reply, endpoint: str) -> str | None:
    rid = body_of(reply).get("id")
    if rid not in (None, ""):
        return str(rid)
    return id_in_location(reply.headers.get("location", ""), endpoint)


# -- creating the temporary objects ------------------------------------------------------


def create_user(s: Scratch) -> None:
    """POST the temporary user; notes how the target answers a create (RFC 7644 §3.3)."""
    body: dict[str, Json] = {
        "schemas": [USER_SCHEMA],
        "userName": s.user_name,
        "externalId": s.stem,
        "name": {"givenName": "Doctor", "familyName": "Probe"},
        "displayName": "scimrec doctor probe",
        "emails": [{"value": s.user_name, "type": "work", "primary": True}],
        "active": True,
    }
    reply = s.post("/Users", body, "userName")
    rid = s.id_of(reply, "/Users", "userName", s.user_name)
    location = reply.headers.get("location", "")
    has_body = bool(body_of(reply).get("id"))
    shape = "the resource" if has_body else "no body"
    action = "scimrec takes the new id from the body, else from Location, else looks it up"
    if rid is None:
        seen = f"{reply.status} with neither a body nor a Location, and no user to be found"
        s.findings.append(Finding("create", "POST /Users", FAIL, seen, action))
        return
    if location and not location.rstrip("/").endswith(f"/{rid}"):
        status, seen = WARN, f"{reply.status} with {shape}; Location {location} does not end in id"
    elif has_body and location:
        status, seen = OK, f"{reply.status} with the resource and a Location ending in its id"
    else:
        status = WARN
        seen = f"{reply.status} with {shape} and {'a' if location else 'no'} Location header"
    s.findings.append(Finding("create", "POST /Users", status, seen, action))
    s.user = {**body_of(s.client.get(resource_path("/Users", rid))), "id": rid}


def create_group(s: Scratch) -> None:
    """POST the temporary group with the temporary user as member: are members honoured?"""
    uid = str(s.user["id"])
    body: dict[str, Json] = {"schemas": [GROUP_SCHEMA], "displayName": s.stem}
    check = "members on POST"
    refused: Finding | None = None
    try:
        reply = _post_learning(s, body, uid)
    except ScimHTTPError as exc:
        if not 400 <= exc.status < 500 or exc.status == 409:
            raise
        reply = s.post("/Groups", body, "displayName")
        seen = f"a group POST with members is refused ({failure(exc)}); without members it works"
        action = (
            "scimrec sends the first members with the create; refused, it creates the "
            "group empty and adds them with PATCH"
        )
        refused = Finding("groups", check, WARN, seen, action)
    gid = s.id_of(reply, "/Groups", "displayName", s.stem)
    if gid is None:
        raise ScimProtocolError("the group create answered no id, and the group cannot be found")
    s.group = {**s.read_group(resource_path("/Groups", gid)), "id": gid}
    if refused is not None:
        s.findings.append(refused)
    elif uid in member_ids(s.group):
        action = "scimrec sends the first members with the create"
        s.findings.append(Finding("groups", check, OK, "group POST keeps its members", action))
    else:
        seen = "group POST ignores members (the new group has none)"
        action = "scimrec adds, with PATCH, every member the create's answer does not show"
        s.findings.append(Finding("groups", check, WARN, seen, action))


def _post_learning(s: Scratch, body: dict[str, Json], uid: str) -> Reply:
    """The group POST with the user as member, sent again with each field a refusal asks
    for (RFC 7643 §4.2 `$ref`, a `display`), as apply/member_fields.py learns them."""
    refusals: list[tuple[ScimHTTPError, str]] = []
    while True:
        try:
            reply = s.post("/Groups", {**body, "members": [s.member(uid)]}, "displayName")
            break
        except ScimHTTPError as exc:
            ref, display = wants_ref(exc), wants_display(exc)
            field = "member_ref" if ref else "member_display" if display else None
            if field is None or s.works.get(field):
                raise
            s.works[field] = True
            refusals.append((exc, field))
    if not any(field == "member_ref" for _, field in refusals):
        s.findings.append(_member_ref_finding(None))
    s.findings += [_member_ref_finding(exc, field) for exc, field in refusals]
    return reply


def _member_ref_finding(refusal: ScimHTTPError | None, field: str = "member_ref") -> Finding:
    check = "member $ref"
    if refusal is None:
        seen = "members without $ref are accepted"
        action = "scimrec sends members as {value: id}, as Entra ID does"
        return Finding("groups", check, OK, seen, action)
    if field == "member_display":
        seen = f"members without display are refused ({failure(refusal)}); with it they are "
        action = (
            "scimrec sends the write again with each member's userName as display after the "
            "first such refusal, and display from then on"
        )
        return Finding("groups", "member display", WARN, seen + "accepted", action)
    seen = f"members without $ref are refused ({failure(refusal)}); with $ref they are accepted"
    action = (
        "scimrec sends the write again with $ref after the first such refusal, and $ref "
        "from then on; quirks: {member_ref: always} sends it from the first write"
    )
    return Finding("groups", check, WARN, seen, action)
