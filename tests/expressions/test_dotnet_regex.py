""".NET regular expressions: what .NET means is what runs, and what cannot be kept is refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from reconciler.core.scope import check_clause
from reconciler.expressions.dotnet_regex import MATCH_TIMEOUT_SECONDS, PatternError, dotnet_regex
from reconciler.expressions.evaluation import evaluate
from reconciler.expressions.parser import parse
from reconciler.expressions.syntax import ExpressionError

NOW = datetime(2021, 8, 25, 17, 41, 18, tzinfo=UTC)

# (id, .NET pattern, text, the match .NET finds)
DOTNET_PATTERNS: list[tuple[str, str, str, str | None]] = [
    ("named-group-angle", r"(?<num>\d+)", "ab12", "12"),
    ("named-group-quote", r"(?'num'\d+)", "ab12", "12"),
    ("named-backreference", r"(?<c>\w)\k<c>", "abccd", "cc"),
    ("named-backreference-quote", r"(?<c>\w)\k'c'", "abccd", "cc"),
    ("lookbehind-is-not-a-name", r"(?<=@)\w+", "a@b", "b"),
    ("lookbehind-then-angle-bracket", r"(?<=a)b>", "ab>", "b>"),
    ("negative-lookbehind", r"(?<!x)b", "xbab", "b"),
    ("absolute-end-z", r"a\z", "a\n", None),
    ("end-before-final-newline-Z", r"a\Z", "a\n", "a"),
    ("bracket-first-in-class", r"[]a]+", "x]a]", "]a]"),
    ("negated-bracket-first-in-class", r"[^]a]+", "]]bc", "bc"),
    # What Python's `re` refused: Unicode categories, variable-length look-behind.
    ("unicode-category-upper", r"\p{Lu}+", "jürgenÄÖÜ", "ÄÖÜ"),
    ("unicode-category-negated", r"\P{L}+", "ab-12cd", "-12"),
    ("unicode-category-in-class", r"[\p{Lu}\d]+", "abÉ1c", "É1"),
    ("variable-lookbehind", r"(?<=^\w+@)\w+", "alice@example", "example"),
    # .NET's \p{IsName} is a block: Greek and Coptic (U+0370..U+03FF), not Greek Extended.
    ("named-block", r"\p{IsGreek}+", "ἀβγ", "βγ"),
    ("named-block-cyrillic", r"\p{IsCyrillic}+", "Юрий Z", "Юрий"),
    # What .NET reads literally stays literal (`regex` would read a quantifier or fuzzy match).
    ("brace-without-lower-bound-is-literal", r"a{,3}", "aaa a{,3}", "a{,3}"),
    ("fuzzy-syntax-is-literal", r"(?:ab){e<=1}", "ac ab{e<=1}", "ab{e<=1}"),
    ("posix-class-is-literal", r"[[:alpha:]]+", "xy:]]", ":]]"),
    ("real-quantifier", r"a{2,3}", "aaaa", "aaa"),
    ("lazy-quantifier", r"a{2,3}?", "aaaa", "aa"),
    ("lazy-plus", r"a+?", "aaa", "a"),
    # .NET escapes Python lacks.
    ("control-character", r"\cA", "x\x01", "\x01"),
    ("escape-character", r"\e", "x\x1b", "\x1b"),
    ("inline-options-scoped", r"a(?i)b", "aB", "aB"),
    ("inline-options-scoped-not-before", r"a(?i)b", "AB", None),
    ("comment-group", r"a(?#[not a class)b", "ab", "ab"),
    ("atomic-group", r"(?>a+)b", "aab", "aab"),
]


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [p[1:] for p in DOTNET_PATTERNS],
    ids=[p[0] for p in DOTNET_PATTERNS],
)
def test_dotnet_regex_syntax(pattern: str, text: str, found: str | None) -> None:
    match = dotnet_regex(pattern).search(text)
    assert (match.group(0) if match else None) == found


# (id, pattern, what the refusal says): patterns .NET means otherwise, or not at all.
REFUSED: list[tuple[str, str, str]] = [
    (
        "class-subtraction",
        r"[a-z-[aeiou]]",
        "character class subtraction ([a-z-[aeiou]]) is .NET-only; list the class instead",
    ),
    (
        "possessive",
        r"a*+",
        "possessive quantifiers (a*+) are not .NET syntax; use an atomic group (?>…)",
    ),
    (
        "possessive-after-braces",
        r"a{2}+",
        "possessive quantifiers (a*+) are not .NET syntax; use an atomic group (?>…)",
    ),
    ("balancing-group", r"(?<open-close>x)", "balancing groups ((?<open-close>) are .NET-only"),
    ("python-named-group", r"(?P<x>a)", "'(?P' is not a .NET grouping construct"),
    ("branch-reset", r"(?|a)", "'(?|' is not a .NET grouping construct"),
    ("unknown-letter-escape", r"\X", "\\X is not a .NET escape"),
    ("unknown-category", r"\p{Greek}", "unknown Unicode category 'Greek'"),
    ("property-without-braces", r"\pL", "\\p needs a name in braces: \\p{Lu}"),
    ("explicit-capture-option", r"(?n)(a)", "inline option 'n' is not supported"),
    ("regex-only-option", r"(?V1)a", "'(?V' is not a .NET grouping construct"),
    ("regex-only-flag", r"(?L)a", "inline option 'L' is not supported"),
    ("lone-backslash", "a\\", "the pattern ends with a lone backslash"),
    ("unknown-block", r"\p{IsNowhere}", "unknown property value"),
    ("unbalanced", r"(a", "missing )"),
]


@pytest.mark.parametrize(
    ("pattern", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refused_patterns(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as raised:
        dotnet_regex(pattern)
    assert message in str(raised.value)


def test_validation_refuses_class_subtraction_in_replace_and_in_scope() -> None:
    with pytest.raises(ExpressionError) as raised:
        parse(r'Replace([x], , "[a-z-[aeiou]]", , "", , )')
    assert "invalid regular expression: character class subtraction" in raised.value.message
    assert raised.value.offset == 15
    problems = check_clause({"attribute": "d", "operator": "REGEX MATCH", "value": "[a-z-[aeiou]]"})
    assert problems == [
        "invalid regular expression '[a-z-[aeiou]]': character class subtraction "
        "([a-z-[aeiou]]) is .NET-only; list the class instead"
    ]


def test_replace_with_a_unicode_category() -> None:
    expression = parse(r'Replace([x], , "\\p{Lu}", , "_", , )')
    assert evaluate(expression, {"x": "aÉbC"}, NOW, lambda: "") == "a_b_"


# (a|aa)+$ against forty a's and a '!' backtracks for hours; .NET's Regex has a match
# timeout, and so does every pattern a spec supplies here.
BACKTRACKS = "(a|aa)+$"
FORTY = "a" * 40 + "!"


NAMED = f"(?<g>{BACKTRACKS})"


@pytest.mark.parametrize(
    ("expression", "pattern"),
    [
        (f'Replace([x], , "{BACKTRACKS}", , "b", , )', BACKTRACKS),
        (f'Replace([x], , "{NAMED}", "g", "b", , )', NAMED),
        (f'Replace("", , "{NAMED}", "g", , [x], )', NAMED),
    ],
    ids=["regex", "group", "fallback"],
)
@pytest.mark.timing
def test_a_pattern_that_backtracks_without_end_times_out_in_replace(
    expression: str, pattern: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError) as raised:
        evaluate(parse(expression), {"x": FORTY}, NOW, lambda: "")
    assert time.monotonic() - started < MATCH_TIMEOUT_SECONDS + 3
    assert str(raised.value) == (
        f"Replace: the regular expression {pattern!r} took longer than 2 s to match "
        "(simplify the pattern: it backtracks too much)"
    )
