"""Step 4, `match`: pairs declared objects with observed ones by matching attributes in order."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from reconciler.core import attributes as A
from reconciler.core.model import Declared, Kind, Resource

# The attempt that finds a declared email among any of an account's emails.
_ANY_EMAIL = "emails.value (any)"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One matching attribute tried: the value looked up and the ids of what it found."""

    attribute: str
    value: str | None
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Match:
    resource: Resource | None
    matched_on: str | None
    attempts: tuple[Attempt, ...]
    error: str | None = None


def normalise(attribute: str, value: str) -> str:
    """The form matching compares (DESIGN §1): Unicode NFKC, surrounding whitespace ignored,
    and case-folded for case-insensitive attributes.

    NFKC makes a decomposed accent (`e` + U+0301) and a full-width letter equal to their
    plain forms; without it, an account that differs only invisibly would look missing,
    be created anew, and the existing one deprovisioned.
    """
    if value.isascii():  # the common case, cheaply: NFKC leaves ASCII as it is
        text = value.strip()
        return text.casefold() if attribute in A.MATCH_CASE_INSENSITIVE else text
    # Format characters (Cf: a zero-width space or joiner, a soft hyphen, a byte order
    # mark, a direction mark) are invisible, and NFKC keeps them: `alice@example.com` with
    # one would be another account, created while the one the person has is deprovisioned.
    text = unicodedata.normalize("NFKC", _visible(value)).strip()
    if attribute in A.MATCH_CASE_INSENSITIVE:
        # Case-folding can leave a string that is not NFKC any more (RFC 8264 §5.2).
        # Folding İ (U+0130) gives i + a combining dot above, where a target lower-casing
        # the Turkish way (or upper-casing i to İ) holds a plain i: the same letter.
        folded = text.casefold().replace("i\u0307", "i")
        text = unicodedata.normalize("NFKC", folded)
    return text


def normalise_all(attribute: str, values: Sequence[str]) -> list[str]:
    """`normalise(attribute, value)` for each value, in order. Where every value is ASCII
    (nearly every spec), the same steps as `normalise` run as loops in C: a 100,000-user
    spec folds its names several times on each load."""
    if not all(map(str.isascii, values)):
        return [normalise(attribute, value) for value in values]
    stripped = map(str.strip, values)
    return list(map(str.casefold, stripped) if attribute in A.MATCH_CASE_INSENSITIVE else stripped)


# Unicode's default-ignorable code points that are not format characters (Cf): they
# draw nothing either (the combining grapheme joiner, variation selectors, Hangul fillers,
# Mongolian free variation selectors, Khmer inherent vowels). `admin\u034f@example.com`
# passed every `admin@*` pattern of `protected`, and matched no declared admin.
IGNORABLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


def _visible(value: str) -> str:
    # Unassigned code points (Cn) too: some are reserved as default-ignorable (U+2065,
    # U+FFF0-U+FFF8, most of U+E0000-U+E0FFF), and none is anything a reader can see.
    return "".join(
        c for c in value if unicodedata.category(c) not in ("Cf", "Cn") and c not in IGNORABLE
    )


def skeleton(text: str) -> str:
    """A name with every difference a reader may not see removed: compatibility forms,
    accents, case, whitespace and invisible characters. Two names with one skeleton may be
    one person's account; apply never deprovisions one while creating the other failed."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = (
        c
        for c in decomposed
        if unicodedata.category(c) not in ("Mn", "Me", "Cf", "Cc") and not c.isspace()
    )
    return unicodedata.normalize("NFKC", "".join(kept).casefold())


def declared_value(obj: Declared, attribute: str) -> str | None:
    if attribute == "emails.value":
        value = A.primary_value(obj.attrs.get("emails"))
    else:
        value = obj.attrs.get(attribute)
    return value if isinstance(value, str) and value else None


_STR = frozenset({str})
# The attribute a former name (`previously`) is looked up on, per kind.
NAME_ATTRIBUTE = {Kind.USER: "userName", Kind.GROUP: "displayName"}


class Index:
    """Observed resources indexed by the normalised value of each matching attribute (in
    precedence order), and of any other attribute a lookup needs (`also`)."""

    def __init__(
        self, resources: Iterable[Resource], attributes: Sequence[str], also: Sequence[str] = ()
    ) -> None:
        self.attributes = tuple(attributes)
        indexed = tuple(dict.fromkeys((*self.attributes, *also)))
        self._by: dict[str, dict[str, list[Resource]]] = {a: defaultdict(list) for a in indexed}
        resources = tuple(resources)
        bodies = [resource.body for resource in resources]
        for attribute in indexed:
            # Each attribute's values read and normalised for all resources at once (loops
            # in C where they can be); each list still in the resources' order.
            by, read = self._by[attribute], A.reader(attribute)
            read_values = zip(map(read, bodies), resources, strict=True)
            pairs = [(v, r) for v, r in read_values if isinstance(v, str) and v]
            names = normalise_all(attribute, [value for value, _ in pairs])
            for name, (_, resource) in zip(names, pairs, strict=True):
                by[name].append(resource)
        # Every email, not only the primary one: an account holding the declared email as
        # another one is the person's (a target that reorders or drops `primary`), never
        # an absent account to create while prune disables the one they have.
        self._any_email: dict[str, list[Resource]] = defaultdict(list)
        if "emails.value" in indexed:
            for resource in resources:
                for value in email_values(resource.body.get("emails")):
                    held = self._any_email[normalise("emails.value", value)]
                    if resource not in held:
                        held.append(resource)

    def holding_email(self, value: str) -> list[Resource]:
        """The resources holding `value` as any of their emails."""
        return self._any_email.get(normalise("emails.value", value), [])

    def holders(self, attribute: str) -> Mapping[str, list[Resource]] | None:
        """The resources by each normalised value of `attribute`, if it is indexed."""
        return self._by.get(attribute)

    def lookup(self, attribute: str, value: str) -> list[Resource]:
        by = self._by.get(attribute)
        return [] if by is None else by.get(normalise(attribute, value), [])


def match_one(obj: Declared, index: Index) -> Match:
    """First attribute with exactly one candidate wins; several candidates are an error.

    When none matches, the object's former names (`previously`, as peribolos has them) are
    tried in order on its name attribute: a renamed object keeps its target object.
    """
    attempts: list[Attempt] = []
    tries = _tries(obj, index)
    for label, attribute, value in tries:
        if value is None:
            attempts.append(Attempt(label, None, ()))
            continue
        found = index.lookup(attribute, value)
        attempts.append(Attempt(label, value, tuple([r.id for r in found])))
        # Copies of one id (core/shape.py `clashing`: each one in error) are one object,
        # whose error says so; not two objects with one name to remove a duplicate of.
        if len(found) == 1 or len({r.id for r in found}) == 1:
            return Match(found[0], label, tuple(attempts) + _former(tries, len(attempts), index))
        if len(found) > 1:
            ids = ", ".join(sorted(r.id for r in found))
            return Match(
                None,
                None,
                tuple(attempts),
                f"DuplicateTargetEntries: {len(found)} target objects have "
                f"{attribute} {A.quote(value)} (ids {ids}); remove the duplicates on the target",
            )
    email = declared_value(obj, "emails.value") if "emails.value" in index.attributes else None
    held = index.holding_email(email) if email is not None else []
    if held:
        ids = ", ".join(sorted(r.id for r in held))
        return Match(
            None,
            None,
            (*attempts, Attempt(_ANY_EMAIL, email, tuple(r.id for r in held))),
            f"NonPrimaryEmailMatch: {A.quote(email or '')} is an email of target object(s) "
            f"{ids} but not their primary one; make it primary on the target, or match on "
            "another attribute",
        )
    return Match(None, None, tuple(attempts))


def _tries(obj: Declared, index: Index) -> list[tuple[str, str, str | None]]:
    """What matching looks up, in order: each matching attribute, then each former name
    (on the name attribute); each as its label, the attribute, and the declared value."""
    tries = [
        (attribute, attribute, declared_value(obj, attribute)) for attribute in index.attributes
    ]
    name = NAME_ATTRIBUTE[obj.kind]
    return tries + [(f"previously ({name})", name, old) for old in obj.previously]


def every_candidate(obj: Declared, index: Index, match: Match) -> Match:
    """A failed `match` with every matching attribute and former name of `obj` looked up,
    those matching never reached included. Matching stops at the first attribute that
    decides, so a failed match's candidates (never pruned, kept in their groups) were only
    those of the attributes tried: with `[externalId, userName]`, a user in error for its
    externalId left the account holding its userName undeclared, and prune disabled the
    very account the spec declares."""
    # By label and value: every former name has one label (`previously (userName)`).
    tried = {(attempt.attribute, attempt.value) for attempt in match.attempts}
    more = [
        Attempt(label, value, tuple(r.id for r in index.lookup(attribute, value)))
        for label, attribute, value in _tries(obj, index)
        if value is not None and (label, value) not in tried
    ]
    email = declared_value(obj, "emails.value") if "emails.value" in index.attributes else None
    if email is not None and (_ANY_EMAIL, email) not in tried:
        more.append(Attempt(_ANY_EMAIL, email, tuple(r.id for r in index.holding_email(email))))
    return Match(match.resource, match.matched_on, (*match.attempts, *more), match.error)


def email_values(items: object) -> list[str]:
    """Every email `value` of a resource's `emails`, primary or not."""
    if not isinstance(items, list):
        return []
    values = (i.get("value") if isinstance(i, dict) else None for i in items)
    return [v for v in values if isinstance(v, str) and v]


def _former(
    tries: Sequence[tuple[str, str, str | None]], done: int, index: Index
) -> tuple[Attempt, ...]:
    """The former names not tried yet, looked up all the same: an account still under one
    is the declared object's too (twins.py), never a stray to deprovision."""
    return tuple(
        Attempt(label, value, tuple(r.id for r in index.lookup(attribute, value)))
        for label, attribute, value in tries[done:]
        if value is not None and label.startswith("previously")
    )


def match_all(objects: Iterable[Declared], index: Index) -> Mapping[str, Match]:
    """Match every object, then refuse pairings where two declared objects claim one target."""
    matches = _matched(list(objects), index)
    claimed: dict[str, list[str]] = defaultdict(list)
    for key, match in matches.items():
        if match.resource is not None:
            claimed[match.resource.id].append(key)
    for target_id, keys in claimed.items():
        if len(keys) < 2:
            continue
        for key in keys:
            others = ", ".join(k for k in keys if k != key)
            m = matches[key]
            matches[key] = Match(
                None,
                m.matched_on,
                m.attempts,
                f"AmbiguousMatch: target object {target_id} also matches {others}",
            )
    return matches


def _matched(objects: list[Declared], index: Index) -> dict[str, Match]:
    """`{obj.key: match_one(obj, index) for obj in objects}`, with the common case decided
    for all objects at once: a value of the first matching attribute that one resource
    holds, and no former names. match_one's first attempt then finds that one resource,
    and ends there; every other object goes through it. Per object, the loop left holds no
    call but the two results' (100,000 users: about 0.3 s of CPU less)."""
    first = index.attributes[0] if index.attributes else ""
    holders = index.holders(first) if first != "emails.value" else None
    values = [obj.attrs.get(first) for obj in objects]
    # declared_value's test (a non-empty string) for all at once; emails.value is read
    # otherwise, from the primary email.
    if holders is None or not _STR.issuperset(map(type, values)) or not all(values):
        return {obj.key: match_one(obj, index) for obj in objects}
    names = cast(list[str], values)
    held = list(map(holders.get, normalise_all(first, names)))
    out: dict[str, Match] = {}
    for obj, value, found in zip(objects, names, held, strict=True):
        if found is not None and len(found) == 1 and not obj.previously:
            resource = found[0]
            out[obj.key] = Match(resource, first, (Attempt(first, value, (resource.id,)),))
        else:
            out[obj.key] = match_one(obj, index)
    return out
