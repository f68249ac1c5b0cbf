"""`scimrec import` writes YAML that reads back as exactly the target's values
(doctor/yaml_out.py): a NEL, LS or PS inside a value is an escape, never a raw line break
that reading folds into a space."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.doctor import yaml_out
from reconciler.doctor.importer import import_documents
from reconciler.errors import ScimrecError
from reconciler.run import prepare
from reconciler.spec.source import load_text, quick_text
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import write_spec


def test_an_imported_tree_plans_no_changes_whatever_line_breaks_its_values_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True, title="Director\x85")
    fake.add_user("bob\x85@example.com", active=True, title="a\u2028b\u2029c\r\n")
    fake.add_group("Eng\x85")
    specs = write_spec(tmp_path, [], prune="all")
    prepared = prepare(specs, "fake", transport=fake.transport)
    prepared.client.close()
    imported = import_documents(prepared.observed, prepared.target, adopt=False)
    for name in ("users.yaml", "groups.yaml"):
        (specs / name).write_text(imported.files[name], encoding="utf-8")
    again = prepare(specs, "fake", transport=fake.transport)
    again.client.close()
    assert not again.plan.has_changes
    assert not again.plan.errors


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@given(values=st.lists(TEXT, min_size=1, max_size=4))
def test_every_text_reads_back_identical(values: list[str]) -> None:
    doc = {"version": 1, "users": [{"userName": v, "title": v} for v in values]}
    text = yaml_out.dump(doc, "# imported", "users.yaml")
    quick = quick_text(text, "users.yaml")
    exact, issues = load_text(text, "users.yaml")
    assert exact is not None and not issues
    assert exact.value == doc
    assert quick is None or quick.value == doc


def test_a_value_that_would_not_read_back_is_named_and_nothing_written() -> None:
    class SingleQuoted(yaml.SafeDumper):
        """Every text single-quoted, where PyYAML folds a NEL into a space on reading."""

    def single_quoted(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")

    SingleQuoted.add_representer(str, single_quoted)
    doc: dict[str, Any] = {"version": 1, "users": [{"userName": "b@x", "title": "Dir\x85"}]}
    with pytest.raises(ScimrecError) as raised:
        yaml_out.dump(doc, "# imported", "users.yaml", SingleQuoted)
    assert str(raised.value).startswith("import: users.yaml: users[0].title 'Dir\\x85' cannot")


def test_a_target_name_cannot_break_the_header_comment() -> None:
    text = yaml_out.dump({"version": 1}, "# from 'a\x85b: 1' (https://x\u2028y)", "users.yaml")
    loaded, _ = load_text(text, "users.yaml")
    assert loaded is not None and loaded.value == {"version": 1}
    assert text.splitlines()[0] == "# from 'a\\x85b: 1' (https://x\\u2028y)"
