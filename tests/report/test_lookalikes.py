"""A look-alike name never makes a delete line read exactly like the create line.

The target holds "alice@example.com" whose first letter is the Cyrillic a (U+0430), which
NFKC leaves as it is, so matching rightly treats it as another name. Under `prune: all`
with `deprovision: delete` the plan says "+ create user alice@example.com" and "- delete
user alice@example.com", the second printed with the bare Cyrillic letter: the reviewer
sees the same person created and deleted and cannot tell which is which (issue 12 item 4
asked for "marked non-ASCII look-alikes"). report/render.py `hidden()` marks only what
NFKC changes, invisible characters and surrounding spaces, so the Cyrillic letter is shown
as is, in text and in the markdown PR comment (ruff's RUF002 flags this very letter in
source code). So a name mixing letters of scripts that pass for one another (Latin,
Cyrillic, Greek ...) is shown escaped, as NFKC differences are.
"""

from __future__ import annotations

import pytest

from reconciler.core.model import Kind
from reconciler.report.markdown import plan_markdown
from reconciler.report.render import not_kept_warning, plan_text, visible

LOOKALIKE = "\u0430lice@example.com"  # Cyrillic small a, then "lice@example.com"


def _plan() -> dict[str, object]:
    def change(key: str, action: str, target_id: str | None) -> dict[str, object]:
        attributes = [{"path": "userName", "before": None, "after": key}] if not target_id else []
        return {
            "kind": "user",
            "key": key,
            "action": action,
            "reason": "r",
            "target_id": target_id,
            "matched_on": None,
            "version": None,
            "attributes": attributes,
        }

    return {
        "format_version": 1,
        "target": {"name": "t", "url": "https://scim.example/scim/v2"},
        "summary": {"create": 1, "update": 0, "disable": 0, "delete": 1, "noop": 0, "error": 0},
        "changes": [
            change("alice@example.com", "create", None),
            change(LOOKALIKE, "delete", "u2"),
        ],
        "errors": [],
        "guards": [],
        "notes": [],
        "complete_read": True,
        "out_of_scope": [],
    }


def test_a_lookalike_name_is_shown_marked() -> None:
    assert visible(LOOKALIKE) == '"\\u0430lice@example.com"'


@pytest.mark.parametrize(
    "name",
    [
        "alice@example.com",
        "Зоя Иванова",  # all Cyrillic: one script
        "Ζωή@example.gr",  # Greek, then a Latin domain: mixed
        "王 wang@example.com",  # Han beside Latin passes for nothing
        "José",
    ],
)
def test_only_names_mixing_confusable_scripts_are_escaped(name: str) -> None:
    mixed = name.startswith("Ζ")  # noqa: RUF001
    assert (visible(name) != name) is mixed


def test_the_delete_line_of_a_lookalike_differs_visibly_from_the_create_line() -> None:
    lines = plan_text(_plan()).splitlines()
    (delete,) = [line for line in lines if "delete user" in line]
    assert LOOKALIKE not in delete  # escaped or marked, never printed bare


def test_notes_errors_and_guards_show_a_targets_control_characters_as_escapes() -> None:
    # ESC [2J clears a terminal: quoted from a target into a note, it would wipe the plan.
    plan = _plan()
    plan["notes"] = ["group Ops: member \x1b[2Jroot is protected: not removed"]
    plan["errors"] = [{"kind": "user", "key": "k", "step": "match", "message": "bad\x1b[1A x"}]
    plan["guards"] = ["limit \x07 reached"]
    text = plan_text(plan)
    assert "\x1b" not in text and "\x07" not in text
    assert "Note: group Ops: member \\x1b[2Jroot is protected: not removed" in text
    assert "match: bad\\x1b[1A x" in text
    assert "Guard: limit \\x07 reached" in text


def test_apply_names_an_account_it_could_not_keep_as_the_plan_did() -> None:
    # After the plan, apply's own lines name the same accounts: marked the same way.
    warning = not_kept_warning([(Kind.USER, LOOKALIKE, ["title"])])
    assert f"  user {visible(LOOKALIKE)}: not kept by the target: title" in warning.splitlines()
    assert LOOKALIKE not in warning


def test_a_target_host_in_another_script_is_shown_as_the_domain_it_reaches() -> None:
    # A saved plan read back by `show` says where it was made; a Cyrillic o (U+043E) in the host
    # would read as okta.example.com, while the requests went to the xn-- domain.
    plan = _plan()
    plan["target"] = {"name": "t", "url": "https://\u043ekta.example.com/scim/v2"}
    assert plan_text(plan).splitlines()[0] == (
        'Target "t" (https://xn--kta-red.example.com/scim/v2)'
    )
    assert "(`https://xn--kta-red.example.com/scim/v2`)" in plan_markdown(plan).splitlines()[1]
