"""Every command does and shows exactly the same with the observed state's repeated values
shared (reconciler/scim/sharing.py) as without: run on the fake target twice, once with
`Shared` and once with a memo that shares nothing, the outputs, saved plan, imported spec,
audit log, the requests sent and the target's final state must match byte for byte.

The targets are hostile: member entries repeated inside one group and across groups, in
other key orders, with extra keys, `true` beside `"true"` and `1`, ids a user and a group
both hold, groups listed as members, managers that are entries or plain ids; written by
PATCH or (no PATCH) by GET-merge-PUT, with and without `$ref`s. Whatever was read is also
checked unchanged once each command is done: nothing may write into a shared value.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reconciler.run
import reconciler.scim.observe
from reconciler.cli import main
from reconciler.core.model import ENTERPRISE_URN, Observed, Resource
from reconciler.scim.sharing import Shared
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "SHARING_DIFF_SCIM_TOKEN"
TOKEN = "sharing-diff-token-5521"
VARYING = [  # what differs from one run to the next, whatever is shared
    (re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)?"), "<time>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r'"duration_ms": [0-9.]+'), '"duration_ms": 0'),
    (re.compile(r'"value": "[0-9a-f]{64}"'), '"value": "<digest>"'),  # a plan file's, over its time
    (re.compile(r'"run_id": "[^"]*"'), '"run_id": "<x>"'),
    (re.compile(r"\b(run|Run) [0-9a-f]{12}\b"), r"\1 <id>"),
]


class Unshared(Shared):
    """The memo that shares nothing: what a read held before sharing landed."""

    def users_read(self, users: Any) -> None:
        pass

    def take(self, body: Any) -> None:
        pass


@dataclass
class Scenario:
    users: list[dict[str, Any]]  # bodies the fake holds, in the order it lists them
    groups: list[dict[str, Any]]
    spec_users: list[dict[str, Any]]
    spec_groups: list[dict[str, Any]]
    target: dict[str, Any] = field(default_factory=dict)
    put: bool = False  # PATCH answered 501: every write a GET-merge-PUT
    per_kind: bool = False  # ids counted from 1 per kind: user "1" and group "1"
    cursor: bool = False  # listings read by cursor (RFC 9865), not by index
    hidden: frozenset[str] = frozenset()  # users the listing leaves out (found by GET)


def ids(n_users: int, n_groups: int, per_kind: bool) -> tuple[list[str], list[str]]:
    """The ids the fake gives, in creation order (FakeScim._new_id)."""
    if per_kind:
        return [str(i + 1) for i in range(n_users)], [str(i + 1) for i in range(n_groups)]
    users = [f"u{i + 1}" for i in range(n_users)]
    return users, [f"g{n_users + i + 1}" for i in range(n_groups)]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    n_users, n_groups = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    per_kind = draw(st.booleans())
    uids, gids = ids(n_users, n_groups, per_kind)
    names = [f"p{i}@example.com" for i in range(n_users)]
    # Mostly ids and names; now and then a value no plan can read (that object's error).
    values = st.sampled_from([*uids, *uids, *gids, *names, "ghost", *uids, *gids, 7, True])
    parts = {
        "value": values,
        "type": st.sampled_from(["User", "Group", "user"]),
        "display": st.sampled_from([*names, "Someone"]),
        "$ref": st.sampled_from(
            [f"{BASE_URL}/Users/{u}" for u in uids] + [f"{BASE_URL}/Groups/{g}" for g in gids]
        ),
        "primary": st.sampled_from([True, "true", 1]),
    }
    keys = st.lists(st.sampled_from(list(parts)), unique=True, min_size=1, max_size=3)

    @st.composite
    def entries(draw: st.DrawFn) -> dict[str, Any]:
        chosen = draw(keys)
        if "value" not in chosen and draw(st.integers(0, 9)):
            chosen.insert(draw(st.integers(0, len(chosen))), "value")
        return {k: draw(parts[k]) for k in chosen}

    # A few entries, each met again and again (and in another key order), and fresh ones.
    pool = draw(st.lists(entries(), min_size=1, max_size=4))
    pool += [dict(reversed(e.items())) for e in pool if draw(st.booleans())]
    member = st.sampled_from(pool) | entries()

    users: list[dict[str, Any]] = []
    for name in names:
        body: dict[str, Any] = {"userName": name, "active": draw(st.booleans())}
        manager = draw(st.none() | member | st.sampled_from(uids))
        if manager is not None:
            extension = {"manager": manager}
            if draw(st.booleans()):
                extension = {"department": "Legal", **extension}
            body[ENTERPRISE_URN] = extension
        if draw(st.booleans()):
            body["title"] = draw(st.sampled_from(["Boss", "Clerk"]))
        users.append(body)
    groups = [
        {"displayName": f"G{j}", "members": draw(st.lists(member, max_size=5))}
        for j in range(n_groups)
    ]

    declared = draw(st.lists(st.sampled_from(names), unique=True, min_size=1))
    spec_users: list[dict[str, Any]] = []
    for n, name in enumerate(declared):
        spec: dict[str, Any] = {"userName": name}
        if draw(st.booleans()):
            spec["title"] = draw(st.sampled_from(["Boss", "Clerk"]))
        if n and draw(st.booleans()):  # a manager declared before: no cycle
            spec["enterprise"] = {"manager": draw(st.sampled_from(declared[:n]))}
        spec_users.append(spec)
    spec_groups = [
        {"displayName": f"G{j}", "members": draw(st.lists(st.sampled_from(declared), unique=True))}
        for j in draw(st.lists(st.integers(0, n_groups), unique=True, max_size=n_groups))
    ]
    quirks: dict[str, str] = {}
    if draw(st.booleans()):
        quirks["member_ref"] = "always"
    if draw(st.booleans()):
        quirks["member_removal"] = "value"
    target = {
        "prune": draw(st.sampled_from(["none", "all"])),
        "members_policy": draw(st.sampled_from(["exact", "additive"])),
        "quirks": quirks,
    }
    return Scenario(
        users,
        groups,
        spec_users,
        spec_groups,
        target,
        put=draw(st.booleans()),
        per_kind=per_kind,
        cursor=draw(st.booleans()),
        hidden=draw(st.frozensets(st.sampled_from(uids), max_size=1)),
    )


def fake_target(s: Scenario) -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.patch_unsupported = s.put
    fake.ids_per_kind = s.per_kind
    fake.require_member_ref = s.target["quirks"].get("member_ref") == "always"
    fake.hidden = set(s.hidden)
    if s.cursor:
        fake.paging(cursor=True, index=False)
    for body in copy.deepcopy(s.users):
        fake.add_user(body.pop("userName"), **body)
    for body in copy.deepcopy(s.groups):
        gid = fake.add_group(body["displayName"])
        fake.groups[gid]["members"] = body["members"]
    return fake


def write_specs(root: Path, s: Scenario) -> Path:
    target = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "concurrency": 1,  # one order of requests, to compare
        "guards": {
            "max_deletes": 100,
            "max_delete_percent": 100,
            "max_member_removals": 100,
            "max_member_removal_percent": 100,
        },
        **s.target,
    }
    doc = {"version": 1, "targets": {"fake": target}, "users": s.spec_users}
    if s.spec_groups:
        doc["groups"] = s.spec_groups
    root.mkdir(parents=True)
    (root / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return root


def bodies(observed: Observed) -> str:
    """The state read, as text that tells `true` from `1` and one key order from another."""
    resources: list[Resource] = [*observed.users, *observed.groups]
    return json.dumps([(r.id, r.body) for r in resources])


def steady(text: str, root: Path) -> str:
    text = text.replace(str(root), "<tmp>")
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


@contextlib.contextmanager
def reads(mp: pytest.MonkeyPatch, share: bool) -> Iterator[list[tuple[Observed, str]]]:
    """Each state observed, with its text when it was read."""
    seen: list[tuple[Observed, str]] = []
    real = reconciler.scim.observe.observe  # what run.py calls as `observe`

    def observing(*args: Any, **kwargs: Any) -> Observed:
        observed = real(*args, **kwargs)
        seen.append((observed, bodies(observed)))
        return observed

    mp.setattr(reconciler.run, "observe", observing)
    if not share:
        mp.setattr(reconciler.scim.observe, "Shared", Unshared)
    yield seen


def run_everything(s: Scenario, root: Path, share: bool) -> dict[str, str]:
    """Every command that reads the target, in turn, as a user would run them; what each
    printed, wrote and sent, and the state each read."""
    specs, plan, audit = write_specs(root / "specs", s), root / "plan.json", root / "audit.jsonl"
    spec = str(specs)
    only = [f"user:{u['userName']}" for u in s.spec_users[:2]]
    only += [f"group:{g['displayName']}" for g in s.spec_groups]
    commands = [
        ["plan", spec, "--no-color"],
        ["plan", spec, "--format", "json"],
        ["plan", spec, "--format", "markdown"],
        ["plan", spec, "--explain", *(a for o in only for a in ("--only", o))],
        ["drift", spec, "--format", "json"],
        ["import", spec, "--out", str(root / "imported"), "--adopt"],
        ["plan", spec, "--out", str(plan)],
        ["show", str(plan)],
        ["apply", spec, "--plan", str(plan), "--auto-approve", "--audit-log", str(audit)],
        ["plan", spec, "--format", "json"],
    ]
    fake = fake_target(s)
    out: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as mp, reads(mp, share) as seen:
        mp.setenv(TOKEN_ENV, TOKEN)
        for n, command in enumerate(commands):
            if command[0] != "show":
                command += ["--target", "fake", "--no-progress", "--log-format", "json"]
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = main([*command, "--log-level", "debug"], transport=fake.transport)
            out[f"{n} {command[0]}"] = f"{code}\n{stdout.getvalue()}\n{stderr.getvalue()}"
            for observed, then in seen:
                assert bodies(observed) == then, f"{command[0]} wrote into the state it read"
            out[f"{n} {command[0]} read"] = "\n".join(text for _, text in seen)
            seen.clear()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.parent != specs:
            out[path.name] = path.read_text(encoding="utf-8")
    out["requests"] = "\n".join(
        f"{r.method} {r.path} {json.dumps(r.params)} {json.dumps(r.body)}" for r in fake.requests
    )
    out["target"] = json.dumps([fake.users, fake.groups])
    return {key: steady(text, root) for key, text in out.items()}


def differences(s: Scenario, tmp: Path) -> list[str]:
    shared = run_everything(s, tmp / "shared", share=True)
    unshared = run_everything(s, tmp / "unshared", share=False)
    assert shared.keys() == unshared.keys()
    return [key for key in shared if shared[key] != unshared[key]]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenarios())
def test_sharing_changes_nothing_any_command_shows_sends_or_writes(
    tmp_path_factory: pytest.TempPathFactory, s: Scenario
) -> None:
    assert differences(s, tmp_path_factory.mktemp("diff")) == []
