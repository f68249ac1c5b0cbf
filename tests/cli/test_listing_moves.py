"""A listing paged by index while another client deletes (RFC 7644 §3.4.2.4 promises no
consistency between pages): each deletion before a page slides a resource past the reader.
The read is then short (scim/paging.py `moved`), so a declared user it skipped is looked up
before it is created, and never created twice."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim, Seen

TOKEN_ENV = "LISTING_MOVES_TOKEN"
TOKEN = "tok-listing-moves-0123456789"


def test_a_user_skipped_by_a_listing_that_moved_is_adopted_not_created_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False  # a target that would hold two bobs
    early = [fake.add_user(f"u{n}@example.com", active=True) for n in range(2)]
    bob = fake.add_user("bob@example.com", active=True, title="Engineer")  # page 2's first
    for n in range(2, 4):
        fake.add_user(f"u{n}@example.com", active=True)
    pages: list[str] = []

    def someone_deletes(seen: Seen) -> None:
        if seen.path == "/Users" and "filter" not in seen.params:
            pages.append(seen.params.get("startIndex", "1"))
            if len(pages) > 1 and pages[-1] == "1" and early[0] in fake.users:
                # The plan's read has had its first page (the connection test reads one
                # before it): u0 goes, and bob slides from page 2 onto page 1.
                del fake.users[early[0]]

    fake.on_page = someone_deletes
    target = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV},
              "page_size": 2}  # fmt: skip
    doc = {"version": 1, "targets": {"t": target},
           "users": [{"userName": "bob@example.com", "title": "Engineer"}]}  # fmt: skip
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")

    code = main(["apply", str(tmp_path), "--target", "t", "--auto-approve"],
                transport=fake.transport)  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0
    assert "totalResults fell from 5 to 4 while the pages were read" in out
    assert [u["id"] for u in fake.user_named("bob@example.com")] == [bob]
    assert fake.count("POST") == 0
