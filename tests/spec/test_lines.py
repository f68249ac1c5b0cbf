"""The line-by-line read of plain block YAML (spec/lines.py) against PyYAML's (source.py
`quick_yaml`): on any file the first reads, both give the same values, of the same types, and
the same positions. Files are generated in block YAML with the choices a writer has (quoting,
indentation, sequences under a key indented or not, blank and comment lines), from values
YAML 1.1 reads in surprising ways, then often damaged a little (a character inserted, a line
moved, doubled or indented otherwise): PyYAML says what each means."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.spec import lines
from reconciler.spec.source import quick_text, quick_yaml

WORDS = [
    "alice@example.com",
    "Given0 Family0",
    "Engineer",
    "emp-0",
    "R&D",
    "a: b",
    "a:b",
    "end:",
    "yes",
    "No",
    "ON",
    "off",
    "true",
    "False",
    "TRUE",
    "tRUE",
    "null",
    "Null",
    "NULL",
    "~",
    "nUll",
    "y",
    "n",
    "0",
    "7",
    "12",
    "012",
    "1_000",
    "-1",
    "+1",
    "1.5",
    "1e3",
    ".inf",
    "0x1F",
    "2001-02-03",
    "1:20",
    "Müller",
    "Ωmega",
    "x #y",
    "x#y",
    "O'Brien",
    'say "hi"',
    "a  b",
    " lead",
    "trail ",
    "",
    "-dash",
    "? q",
    "*star",
    "&amp",
    "!tag",
    "|",
    ">",
    "%",
    "@at",
    "`tick",
    "[x]",
    "{x}",
    "a,b",
    "a\\b",
    "tab\there",
    "https://x.io/a?b=c",
    "=",
    "<<",
    "é\u0301",
    "\u00a0nb",
    "x\u2028y",
    "\ufeffbom",
]
# Most values a spec holds are plain; drawn more often, so most files stay readable line by
# line and their structure, not only their words, is compared.
PLAIN = ["alice@example.com", "Given0 Family0", "Engineer", "emp-0", "true", "12", "Müller"]
KEYS = ["userName", "title", "name", "emails", "value", "primary", "a", "b_2", "on", "yes"]


def scalar(text: str, style: int) -> str:
    if style == 1:
        return "'" + text + "'"
    if style == 2:
        return '"' + text + '"'
    return text


@st.composite
def values(draw: st.DrawFn, depth: int = 0) -> object:
    """A value as specs hold them: mostly words; mappings; lists of words or of mappings
    (a list directly in a list is YAML too, written `- - x`, which only PyYAML reads)."""
    kinds = ["scalar"] if depth > 2 else ["scalar"] * 3 + ["map", "seq"]
    kind = draw(st.sampled_from(kinds))
    if kind == "map":
        return mapping(draw, depth)
    if kind == "seq":
        if draw(st.booleans()):
            return [draw(values(3)) for _ in range(draw(st.integers(1, 3)))]
        return [mapping(draw, depth) for _ in range(draw(st.integers(1, 3)))]
    return scalar(draw(st.sampled_from(PLAIN * 80 + WORDS)), draw(st.sampled_from([0, 0, 0, 1, 2])))


def mapping(draw: st.DrawFn, depth: int) -> list[tuple[str, object]]:
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique=True))
    return [(key, draw(values(depth + 1))) for key in keys]


# How a file is laid out: the indentation step, the spaces after `- `, and whether a list
# under a key sits at the key's own column.
Style = tuple[int, int, bool]


def item(value: object, dash: int, style: Style, out: list[str]) -> None:
    """`value` as a `- ` item at column `dash`."""
    step, gap, _ = style
    lead = " " * dash + "-" + " " * gap
    if isinstance(value, str):
        out.append(lead + value)
    elif isinstance(value, list) and value and isinstance(value[0], tuple):
        entries(value, dash + 1 + gap, style, out, lead)
    else:
        assert isinstance(value, list)
        out.append(lead.rstrip())
        for element in value:
            item(element, dash + step, style, out)


def entries(
    pairs: list[tuple[str, object]], col: int, style: Style, out: list[str], lead: str = ""
) -> None:
    """A mapping's entries at column `col`; the first on the line `lead` starts, if any."""
    step, _, indentless = style
    for index, (key, value) in enumerate(pairs):
        head = lead if index == 0 and lead else " " * col
        if isinstance(value, str):
            out.append(head + key + ": " + value)
            continue
        out.append(head + key + ":")
        if isinstance(value, list) and value and isinstance(value[0], tuple):
            entries(value, col + step, style, out)
        else:
            assert isinstance(value, list)
            for element in value:
                item(element, col if indentless else col + step, style, out)


@st.composite
def documents(draw: st.DrawFn) -> str:
    style = (
        draw(st.sampled_from([2, 2, 4, 1])),
        draw(st.sampled_from([1, 1, 2])),
        draw(st.booleans()),
    )
    out: list[str] = []
    if draw(st.booleans()):
        out.append("---")
    out.append("version: " + draw(st.sampled_from(["1", "'1'", "2"])))
    tops = st.lists(st.sampled_from(["users", "groups", "other"]), max_size=3, unique=True)
    for key in draw(tops):
        items = [
            mapping(draw, 1) if draw(st.integers(0, 4)) else draw(values(3))
            for _ in range(draw(st.integers(0, 3)))
        ]
        if key == "other":
            out.append("other: " + draw(st.sampled_from(WORDS)))
            continue
        out.append(key + ":")
        for value in items:
            item(value, 0 if style[2] else style[0], style, out)
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.integers(0, len(out)))
        out.insert(where, draw(st.sampled_from(["", "   ", "# note", "  # note: x"])))
    return "\n".join(out) + draw(st.sampled_from(["\n", "", "\n\n"]))


@st.composite
def damaged(draw: st.DrawFn) -> str:
    text = draw(documents())
    rows = text.split("\n")
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(rows) - 1))
        action = draw(st.integers(0, 4))
        if action == 0:
            char = draw(st.sampled_from(list("\t#:&*{}[]'\"\\ -,?|>!%@`\r\x85\u2028é")))
            pos = draw(st.integers(0, len(rows[at])))
            rows[at] = rows[at][:pos] + char + rows[at][pos:]
        elif action == 1:
            rows[at] = " " * draw(st.integers(1, 3)) + rows[at]
        elif action == 2 and rows[at].startswith(" "):
            rows[at] = rows[at][1:]
        elif action == 3:
            rows.insert(at, rows[at])
        else:
            rows.insert(draw(st.integers(0, len(rows))), rows.pop(at))
    return "\n".join(rows)


def same_as_pyyaml(text: str) -> bool:
    """Whether the line read took the file; asserts it reads it as PyYAML does."""
    found = lines.read(text, "f.yaml")
    if found is None:
        return False
    exact = quick_yaml(text, "f.yaml")
    assert exact is not None, "read a file PyYAML refuses or reports"
    value, marks = found
    assert repr(value) == repr(exact.value)  # types too: 1 is not True, '1' is not 1
    assert marks == exact.marks
    assert exact.texts == {}
    return True


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_a_written_file_is_read_as_pyyaml_reads_it(text: str) -> None:
    same_as_pyyaml(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_a_damaged_file_is_read_as_pyyaml_reads_it_or_left_to_it(text: str) -> None:
    same_as_pyyaml(text)


def test_plain_files_are_read_line_by_line() -> None:
    # The form the generated specs take, and what the checks above rely on being common.
    text = (
        "---\n# people\nversion: 1\nusers:\n- userName: a@x.io\n  name:\n    givenName: A\n"
        "  emails:\n  - value: a@x.io\n    primary: true\n  active: no\n  title: 'Dev: lead'\n"
        "  enterprise:\n    employeeNumber: '0012'\n    manager: \"b@x.io\"\n\n"
        "groups:\n  -   displayName: G\n      members:\n        - a@x.io\n        - b@x.io\n"
        "  - displayName: H\n    members:\n"
    )
    assert same_as_pyyaml(text)
    read = quick_text(text, "f.yaml")
    assert read is not None and read.value["groups"][1] == {"displayName": "H", "members": None}
    assert read.loc(("groups", 1)).line == 22 and read.loc(("groups", 0)).col == 7


def test_what_the_line_read_leaves_to_pyyaml() -> None:
    for text in [
        "users:\n- {userName: a}\n",  # flow
        "users:\n- userName: a # note\n",  # a comment after a value
        "users:\n- userName: &a x\n",  # an anchor
        "users:\n- title: Senior\n    Engineer\n",  # a value over two lines
        "users:\n- userName: a\n  userName: b\n",  # a duplicate key
        "users:\n- active: yEs\n",  # another spelling of a YAML word
        "users:\n- title: 012\n",  # an octal number in YAML 1.1
        "users:\n-\tuserName: a\n",  # a tab
        "targets:\n  t:\n    url: x\n",  # a block under another key: its positions are kept
        "# nothing\n",
        "",
    ]:
        assert lines.read(text, "f.yaml") is None, text


def test_the_characters_left_to_pyyaml_are_those_it_reads_otherwise_or_refuses() -> None:
    # PyYAML's reader refuses what is not printable; tabs, `\r`, NEL and the Unicode line
    # and paragraph separators change where lines and values end; a BOM starts a stream.
    printable = {0x0A, *range(0x20, 0x7F), *range(0xA0, 0xD800), *range(0xE000, 0xFFFE)}
    printable |= set(range(0x10000, 0x110000))
    read_here = printable - {0x2028, 0x2029, 0xFEFF}
    odd = [code for code in range(0x110000) if lines._ODD.fullmatch(chr(code))]
    assert set(odd) == set(range(0x110000)) - read_here


def test_a_word_that_starts_with_a_digit_python_knows_is_a_word() -> None:
    # `²`, `³`, `¹` and the circled or Ethiopic digits are letters to the plain-word pattern
    # (`\w` and not `\d`) and digits to str.isdigit; int() takes none of them. PyYAML reads
    # each as a string; reading one as an integer stopped the load with a ValueError.
    for text in ["a: ²\n", "a: ²nd floor\n", "users:\n- title: ③\n", "users:\n- \u1369x\n"]:
        assert same_as_pyyaml(text), text
    read = quick_text("users:\n- title: ²nd floor\n- 90\n- 0\n", "f.yaml")
    assert read is not None and read.value == {"users": [{"title": "²nd floor"}, 90, 0]}


def test_an_integer_python_will_not_read_is_left_to_pyyaml() -> None:
    # Past 4,300 digits int() refuses a text (sys.get_int_max_str_digits): PyYAML's read
    # reports the value as unreadable, so the line read must give the file up, not fail.
    text = "users:\n- employeeNumber: " + "9" * 5000 + "\n"
    assert lines.read(text, "f.yaml") is None
    assert quick_text(text, "f.yaml") is None


def test_a_line_is_matched_in_time_linear_in_its_length() -> None:
    # A word followed by a long run of spaces and then what ends the match: the pattern
    # must give up after about one pass. A lazy word before the trailing spaces tried every
    # split of the run (16,000 spaces: 3 s; these 200,000: several minutes).
    spaces = " " * 200_000
    start = time.process_time()
    assert lines.read("users:\n- title: a" + spaces + "b #c\n", "f.yaml") is None
    assert same_as_pyyaml("users:\n- title: a" + spaces + "b" + spaces + "\n")
    assert time.process_time() - start < 2


def test_a_block_nested_past_python_s_recursion_is_left_to_pyyaml() -> None:
    # Each level of a block is a call: past Python's recursion limit the line read gives the
    # file up (PyYAML's read then decides) instead of stopping the load with RecursionError.
    for depth in (700, 1500):
        text = "users:\n- " + "".join(" " * (2 + i) * bool(i) + f"k{i}:\n" for i in range(depth))
        assert not same_as_pyyaml(text)
