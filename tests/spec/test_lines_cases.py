"""Layouts the line read takes, each compared with PyYAML's read (tests/spec/test_lines.py
`same_as_pyyaml`): a key with no value before a sibling, a further item or nothing; values
that start with the letters its own syntax uses."""

from __future__ import annotations

import pytest

from reconciler.spec import lines
from reconciler.spec.source import quick_yaml
from tests.spec.test_lines import same_as_pyyaml

CASES = [
    "users:\n- emails:\n- userName: x\n",  # a key with no value, then the next item
    "users:\n- name:\n  title: T\n",  # ... then a sibling key
    "version:\nusers:\n- a\n",  # ... at the top
    "users:\n- emails:\n  - value: v\n  title: Xavier\n",  # a list under a key, then a key
    "users:\n- title: Xavier\n  nickName: XX\n- 'Xeno'\n",  # words starting with X
    "groups:\n- displayName: G\n  members:\n",  # a key with no value, at the end
    "users:\n- name:\n    givenName: A\n  emails:\n",  # a nested mapping, then a null
    "--- \nversion: 1\n",  # the document's start, with a space after it
    "users:\n  # note\n- a\n",  # an indented comment
]

# What PyYAML refuses, and the line read must leave to it: the start of a document followed
# by what is no space to YAML, a line that only looks like a comment once a character other
# than a space is taken off its front.
REFUSED = [
    "---\xa0\nversion: 1\n",
    "---X\nversion: 1\n",
    "users:\n- a\n\xa0# x\n",
    "users:\n- a\nX# y\n",
]


@pytest.mark.parametrize("text", REFUSED)
def test_the_line_read_leaves_what_pyyaml_refuses(text: str) -> None:
    assert quick_yaml(text, "f.yaml") is None
    assert lines.read(text, "f.yaml") is None


@pytest.mark.parametrize("text", CASES)
def test_the_line_read_takes_it_as_pyyaml_reads_it(text: str) -> None:
    assert same_as_pyyaml(text)
