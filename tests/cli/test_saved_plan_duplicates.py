"""`apply --plan` never creates a duplicate that a fresh `apply` would have adopted.

A plan saved while the listing was complete records `complete_read: true`. By the time it
is applied the account it creates exists, but the target's listing does not show it (a
listing that ends before its totalResults, as capped listings do). `apply --plan` once read
the target without lookup mode and took `look_before_create` from the file, so the create
was POSTed blindly; it now reads the target as a fresh plan does and looks before
creating whenever this run's read is short. On a target without unique userNames
that is a second account for the same person. DESIGN §5: "409 on create = an object the
match step missed: ... never create duplicates"; README: after a short read "apply looks
each planned create up first and adopts what it finds".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim, Seen

TOKEN_ENV = "DUP_PLAN_TOKEN"
TOKEN = "tok-dup-plan-0123456789"


class ShortListing(FakeScim):
    """Lists users without the hidden ones, but counts them in totalResults; filters and
    reads by id find them (as targets that cap or filter their listings do)."""

    def _list(self, seen: Seen, store: dict[str, dict[str, Any]]) -> httpx2.Response:
        response = super()._list(seen, store)
        if "filter" in seen.params or store is not self.users:
            return response
        body = json.loads(response.content)
        body["totalResults"] = len(store)
        return httpx2.Response(200, json=body)


def _specs(root: Path) -> Path:
    root.mkdir()
    target = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV}}
    users = [{"userName": "alice@example.com"}, {"userName": "bob@example.com"}]
    doc = {"version": 1, "targets": {"prod": target}, "users": users}
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root


def test_a_saved_create_is_looked_up_before_it_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = ShortListing(token=TOKEN)
    fake.unique_names = False
    fake.add_user("alice@example.com")
    specs = _specs(tmp_path / "specs")
    planfile = tmp_path / "plan.json"
    assert main(["plan", str(specs), "--out", str(planfile)], transport=fake.transport) == 0
    # Meanwhile bob's account is made (by hand, or by an earlier apply whose answer was
    # lost), and the listing does not show it.
    fake.hidden.add(fake.add_user("bob@example.com"))
    main(["apply", "--plan", str(planfile), str(specs)], transport=fake.transport)
    capsys.readouterr()
    assert len(fake.user_named("bob@example.com")) == 1
