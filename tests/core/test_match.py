"""Step 4, `match`: invisible differences never make an account look missing (DESIGN §1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.match import (
    Attempt,
    Index,
    email_values,
    match_all,
    match_one,
    normalise,
    normalise_all,
    skeleton,
)
from reconciler.core.model import Declared, Json, Kind, Observed, Resource
from reconciler.core.plan import Action, make_plan
from reconciler.errors import SpecError
from reconciler.report.render import plan_text
from tests.core.test_plan import TARGET, load, user_res

# (declared, as the target holds it)
INVISIBLE = [
    ("josé@example.com", "jose\u0301@example.com"),  # a decomposed accent
    ("dave@example.com", "dave@example.com "),  # a trailing space
    ("alice@example.com", "\uff41lice@example.com"),  # a full-width letter
    ("Bob@Example.com", "bob@example.com"),  # case
    ("erin@example.com", "\terin@example.com"),  # leading whitespace
    ("STRASSE@example.com", "straße@example.com"),  # full case folding (ß → ss)
    # Format characters (Cf), which NFKC keeps: before, the account was not matched, the
    # declared one was created beside it and, under prune, the person's own deprovisioned.
    ("fay@example.com", "fay@example.com\u200b"),  # a zero-width space
    ("gus@example.com", "g\u00adus@example.com"),  # a soft hyphen
    ("hal@example.com", "\ufeffhal@example.com"),  # a byte order mark
    ("ivy@example.com", "ivy\u200e@example.com"),  # a left-to-right mark
    # Default-ignorable code points outside Cf: drawn as nothing all the same.
    ("jan@example.com", "ja\u034fn@example.com"),  # a combining grapheme joiner (Mn)
    ("kim@example.com", "kim\ufe0f@example.com"),  # a variation selector (Mn)
    ("lou@example.com", "lou@example.com\U000e0100"),  # a supplementary variation selector
    ("max@example.com", "m\u3164ax@example.com"),  # a Hangul filler (Lo)
]


@pytest.mark.parametrize(("declared", "held"), INVISIBLE)
def test_normalised_forms_are_equal(declared: str, held: str) -> None:
    assert normalise("userName", declared) == normalise("userName", held)


def test_case_matters_for_case_exact_attributes_only() -> None:
    assert normalise("externalId", "Ab") != normalise("externalId", "ab")
    assert normalise("externalId", " a\u0301b") == normalise("externalId", "áb")


def test_invisible_differences_are_matched_and_corrected_never_replaced(tmp_path: Path) -> None:
    users = "".join(f"  - userName: {d!r}\n" for d, _ in INVISIBLE)
    spec = load(tmp_path, TARGET + "    prune: all\n    deprovision: delete\nusers:\n" + users)
    held = tuple(user_res(f"u{i}", h) for i, (_, h) in enumerate(INVISIBLE))
    plan = make_plan(spec, spec.targets["t"], Observed(held, ()))
    assert {c.action for c in plan.changes} == {Action.UPDATE}
    renames = {str(c.target_id): c.attributes[0] for c in plan.changes}
    # Case-only differences are left as the target has them (a case-only rename is one
    # many targets refuse); every other hidden difference is corrected by an update.
    case_only = {3, 5}  # Bob, STRASSE
    assert sorted(renames) == sorted(f"u{i}" for i in range(len(INVISIBLE)) if i not in case_only)
    assert all(a.path == "userName" for a in renames.values())
    assert renames["u1"].after == "dave@example.com"
    text = plan_text(plan.to_json())
    # The update shows what differs: escaped, not two identical-looking names.
    assert '"jose\\u0301@example.com" → "josé@example.com"' in text
    assert '"dave@example.com " → "dave@example.com"' in text
    assert '"\\uff41lice@example.com" → "alice@example.com"' in text


def test_two_target_accounts_equal_under_normalisation_are_ambiguous(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "    prune: all\nusers:\n  - userName: dave@example.com\n")
    held = (user_res("u1", "dave@example.com"), user_res("u2", "dave@example.com "))
    plan = make_plan(spec, spec.targets["t"], Observed(held, ()))
    assert plan.changes == ()  # neither created, nor either of them deprovisioned
    [error] = plan.errors
    assert error.message.startswith("DuplicateTargetEntries: 2 target objects have userName")


def test_declared_keys_equal_under_normalisation_are_duplicates(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="duplicate user"):
        load(
            tmp_path,
            TARGET
            + "users:\n  - userName: josé@example.com\n  - userName: 'jose\u0301@example.com'\n",
        )


# -- the skeleton: what apply compares before deprovisioning (no delete of the account a
# failed create may have been meant to replace) ---------------------------------------------

SKELETONS = [
    ("José@Example.com", "jose@example.com"),  # accents (combining marks, Mn) and case
    ("jose\u0301@example.com", "jose@example.com"),  # a decomposed accent
    ("a\u20dd@example.com", "a@example.com"),  # an enclosing mark (Me)
    ("a\u200b@example.com", "a@example.com"),  # a zero-width space (Cf)
    ("a\x07@example.com", "a@example.com"),  # a control character (Cc)
    (" d a v e@example.com\t", "dave@example.com"),  # whitespace, anywhere
    ("\uff41lice@example.com", "alice@example.com"),  # a full-width letter
]


@pytest.mark.parametrize(("name", "bare"), SKELETONS)
def test_a_skeleton_drops_every_difference_a_reader_may_not_see(name: str, bare: str) -> None:
    assert skeleton(name) == bare


# -- matching attributes in order ----------------------------------------------------------


def user(key: str, previously: tuple[str, ...] = (), **attrs: object) -> Declared:
    return Declared(Kind.USER, key, {"userName": key, **attrs}, previously=previously)


def test_an_attribute_with_no_declared_value_is_skipped_and_the_next_tried() -> None:
    index = Index([user_res("u1", "a@example.com", externalId="ext-a")], ["externalId", "userName"])
    found = match_one(user("a@example.com"), index)
    assert (found.resource and found.resource.id, found.matched_on) == ("u1", "userName")
    # What explain shows: each attribute tried, the missing one as skipped.
    assert found.attempts == (
        Attempt("externalId", None, ()),
        Attempt("userName", "a@example.com", ("u1",)),
    )
    # An empty value is no value: skipped, not looked up.
    assert match_one(user("a@example.com", externalId=""), index).attempts == found.attempts


def test_users_match_on_the_primary_email_when_configured() -> None:
    held = user_res("u1", "old@example.com", emails=[{"value": "b@example.com"}])
    index = Index([held], ["userName", "emails.value"])
    emails = [{"value": "x@example.com"}, {"value": "B@example.com", "primary": True}]
    found = match_one(user("new@example.com", emails=emails), index)
    assert (found.resource and found.resource.id, found.matched_on) == ("u1", "emails.value")


def test_an_attribute_not_indexed_finds_nothing() -> None:
    assert Index([user_res("u1", "a@example.com")], ["externalId"]).lookup("userName", "a") == []


def test_every_object_claiming_a_shared_target_object_is_an_error() -> None:
    # u1 is claimed once (fine), u2 three times: all three are errors naming the others.
    index = Index(
        [user_res("u1", "a@example.com"), user_res("u2", "b@example.com", externalId="e2")],
        ["userName", "externalId"],
    )
    objects = [
        user("a@example.com"),
        user("b@example.com"),
        user("c@example.com", externalId="e2"),
        user("d@example.com", previously=("b@example.com",)),
    ]
    matches = match_all(objects, index)
    assert matches["a@example.com"].error is None
    assert matches["b@example.com"].error == (
        "AmbiguousMatch: target object u2 also matches c@example.com, d@example.com"
    )
    # Each keeps what it matched on, for explain to show beside the error.
    assert [matches[k].matched_on for k in ("b@example.com", "c@example.com")] == [
        "userName",
        "externalId",
    ]
    assert all(
        matches[k].resource is None for k in ("b@example.com", "c@example.com", "d@example.com")
    )


@pytest.mark.parametrize(
    "emails",
    [
        [{"value": "alias@example.com", "primary": True}, {"value": "A@example.com"}],
        [{"value": "alias@example.com"}, {"value": "a@example.com"}],  # no primary: first
    ],
    ids=["another-primary", "not-first"],
)
def test_an_account_holding_the_email_as_a_secondary_one_is_never_replaced(
    tmp_path: Path, emails: list[dict[str, object]]
) -> None:
    # The target reordered the emails or moved `primary`: the account is still the
    # person's, so it is an error to resolve, not a create beside a disabled account.
    settings = "    prune: all\n    matching: {user: [emails.value]}\n"
    users = "users:\n  - {userName: a@example.com, emails: [{value: a@example.com}]}\n"
    spec = load(tmp_path, TARGET + settings + users)
    held = (user_res("u1", "someone", emails=emails, active=True),)
    plan = make_plan(spec, spec.targets["t"], Observed(held, ()))
    assert plan.changes == ()
    assert [e.key for e in plan.errors] == ["a@example.com"]
    assert "NonPrimaryEmailMatch" in plan.errors[0].message


@pytest.mark.parametrize(
    ("declared", "held"),
    [("İrem@example.com", "irem@example.com"), ("irem@example.com", "İREM@example.com")],
)
def test_a_dotted_capital_i_is_an_i_to_case_insensitive_matching(
    tmp_path: Path, declared: str, held: str
) -> None:
    # Full case folding turns İ (U+0130) into i + a combining dot, which a target that
    # lower-cases or upper-cases the Turkish way does not: the person's account looked
    # missing, so the plan created another and disabled theirs.
    assert normalise("userName", declared) == normalise("userName", held)
    spec = load(tmp_path, TARGET + f"    prune: all\nusers:\n  - userName: {declared}\n")
    plan = make_plan(spec, spec.targets["t"], Observed((user_res("u1", held, active=True),), ()))
    assert {(c.action, c.target_id) for c in plan.changes} <= {(Action.UPDATE, "u1")}
    assert plan.matches[(Kind.USER, declared)].resource is not None


def test_a_secondary_email_is_found_whatever_case_the_spec_writes_it_in(tmp_path: Path) -> None:
    settings = "    prune: all\n    matching: {user: [emails.value]}\n"
    users = "users:\n  - {userName: a@example.com, emails: [{value: A@Example.COM}]}\n"
    spec = load(tmp_path, TARGET + settings + users)
    emails = [{"value": "alias@example.com", "primary": True}, {"value": "a@example.com"}]
    held = (user_res("u1", "someone", emails=emails, active=True),)
    plan = make_plan(spec, spec.targets["t"], Observed(held, ()))
    assert plan.changes == ()
    assert [e.key for e in plan.errors] == ["a@example.com"]
    assert "NonPrimaryEmailMatch" in plan.errors[0].message


@pytest.mark.parametrize("entries", [["a@example.com"], [7], [{"value": 7}], [{"value": ""}]])
def test_emails_that_are_no_objects_of_strings_hold_no_email(entries: list[object]) -> None:
    # What the shape check puts in error is never read as an email, nor fails the reading.
    assert email_values([*entries, {"value": "b@example.com"}]) == ["b@example.com"]


def test_an_email_no_account_holds_is_held_by_none() -> None:
    held = user_res("u1", "a", emails=[{"value": "b@example.com"}])
    index = Index([held], ["emails.value"])
    assert index.holding_email("c@example.com") == []
    assert index.holding_email(" B@Example.com") == [held]


@pytest.mark.parametrize("attribute", ["userName", "externalId"])
@pytest.mark.parametrize(
    "values",
    [
        ["Ana@X.io", " Bo@Example.com ", "ID-7"],  # ASCII only: folded in C loops
        ["Ana@X.io", "ÅSA@Example.com", "Jose\u0301@X.io", "\u200bID-7"],  # not: one by one
    ],
    ids=["ascii", "not-ascii"],
)
def test_normalising_a_list_is_normalising_each_value(attribute: str, values: list[str]) -> None:
    # The spec folds every key this way to find duplicates (case-insensitive userName,
    # case-exact externalId); each value must fold as matching folds it alone.
    assert normalise_all(attribute, values) == [normalise(attribute, v) for v in values]
    assert normalise_all(attribute, values) != values


def test_copies_of_one_target_object_are_that_object_not_duplicates() -> None:
    # A target that lists one account twice (shape.py marks the copies in error): the
    # declared user is matched to that account, not reported as having two to remove.
    copy = user_res("u1", "a@example.com")
    found = match_one(user("a@example.com"), Index([copy, copy], ["userName"]))
    assert found.error is None
    assert (found.resource, found.matched_on) == (copy, "userName")
    # Two accounts with different ids are duplicates.
    other = user_res("u2", "A@example.com")
    found = match_one(user("a@example.com"), Index([copy, other], ["userName"]))
    assert found.resource is None
    assert found.error is not None and found.error.startswith("DuplicateTargetEntries: 2")


def _secondary_holders() -> list[Resource]:
    emails: list[Json] = [{"value": "alias@example.com", "primary": True}, {"value": "A@x.io"}]
    return [user_res(rid, f"{rid}@example.com", emails=emails) for rid in ("u2", "u1")]


def test_an_email_held_as_a_secondary_one_says_which_accounts_and_what_to_do() -> None:
    index = Index(_secondary_holders(), ["userName", "emails.value"])
    declared = user("new@example.com", emails=[{"value": "a@x.io", "primary": True}])
    found = match_one(declared, index)
    assert (found.resource, found.matched_on) == (None, None)
    assert found.error == (
        'NonPrimaryEmailMatch: "a@x.io" is an email of target object(s) u1, u2 but not their '
        "primary one; make it primary on the target, or match on another attribute"
    )
    # What explain shows: each attribute tried, then the email found among any of theirs.
    assert found.attempts == (
        Attempt("userName", "new@example.com", ()),
        Attempt("emails.value", "a@x.io", ()),
        Attempt("emails.value (any)", "a@x.io", ("u2", "u1")),
    )


def test_emails_indexed_for_another_reason_are_not_matched_on() -> None:
    # A target matching on userName alone: an account holding the email as a secondary
    # one is no reason to refuse the declared user (its emails were indexed for a lookup).
    index = Index(_secondary_holders(), ["userName"], also=["emails.value"])
    declared = user("new@example.com", emails=[{"value": "a@x.io", "primary": True}])
    found = match_one(declared, index)
    assert (found.resource, found.error) == (None, None)
    assert found.attempts == (Attempt("userName", "new@example.com", ()),)
