"""Layouts the line read takes, each compared with PyYAML's read (tests/spec/test_lines.py
`same_as_pyyaml`): a key with no value before a sibling, a further item or nothing; values
that start with the letters its own syntax uses."""

from __future__ import annotations

import pytest

from tests.spec.test_lines import same_as_pyyaml

CASES = [
    "users:\n- emails:\n- userName: x\n",  # a key with no value, then the next item
    "users:\n- name:\n  title: T\n",  # ... then a sibling key
    "version:\nusers:\n- a\n",  # ... at the top
    "users:\n- emails:\n  - value: v\n  title: Xavier\n",  # a list under a key, then a key
    "users:\n- title: Xavier\n  nickName: XX\n- 'Xeno'\n",  # words starting with X
    "groups:\n- displayName: G\n  members:\n",  # a key with no value, at the end
    "users:\n- name:\n    givenName: A\n  emails:\n",  # a nested mapping, then a null
]


@pytest.mark.parametrize("text", CASES)
def test_the_line_read_takes_it_as_pyyaml_reads_it(text: str) -> None:
    assert same_as_pyyaml(text)
