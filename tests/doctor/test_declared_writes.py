"""The doctor's probe of declared attributes writes them as apply will: a manager as a
reference (to the temporary user itself), and by GET-merge-PUT from the start where apply
will not PATCH; and a PATCH that fails other than "unsupported" says what apply then does.

Seen on real targets: one that refuses the enterprise extension on create but answers its
PATCH with success had every enterprise path but the manager listed, so the `not_kept`
line it printed still left every create refused; one whose PATCH answers 500 to any path
had every attribute listed as refused, though a PUT keeps them all; one that stores no
name.givenName had its working PATCH reported as one that changes nothing.
"""

from __future__ import annotations

import json

from reconciler.core.config import Target as Config
from reconciler.core.model import USER_SCHEMA, Json
from reconciler.doctor.run import run_doctor
from reconciler.scim.client import ScimClient
from tests.doctor.test_doctor import TINY, names, populated
from tests.fakescim import BASE_URL, ENTERPRISE_URN, FakeScim


def probe(fake: FakeScim, config: Config, samples: dict[str, Json]) -> tuple[str, str, str]:
    client = ScimClient(fake.client(), BASE_URL, retry=TINY)
    report = run_doctor(client, config, write_probe=True, new_name=names(), samples=samples)
    finding = report.finding("attributes", "declared attributes")
    return finding.status, finding.observed, finding.action


def test_a_declared_manager_is_probed_as_a_reference_to_the_temporary_user() -> None:
    fake = populated()
    fake.drops = {ENTERPRISE_URN}
    samples: dict[str, Json] = {
        "enterprise.department": "R&D",
        "enterprise.manager": "bob@example.com",
    }
    status, observed, action = probe(fake, Config("fake", BASE_URL), samples)
    assert (status, observed) == (
        "warn",
        "of 2 declared: dropped (answered success, not kept): enterprise.department, "
        "enterprise.manager",
    )
    assert action.endswith("quirks: {not_kept: [enterprise.department, enterprise.manager]}")
    [temp] = [s.path for s in fake.requests if s.method == "DELETE" and "/Users/" in s.path]
    managers = [
        op["value"]
        for s in fake.requests
        if s.method == "PATCH" and s.path == temp
        for op in s.body["Operations"]
        if op.get("path") == f"{ENTERPRISE_URN}:manager"
    ]
    assert managers == [{"value": temp.rsplit("/", 1)[1]}]


def test_a_manager_the_target_keeps_is_reported_kept() -> None:
    samples: dict[str, Json] = {"enterprise.manager": "bob@example.com"}
    status, observed, _ = probe(populated(), Config("fake", BASE_URL), samples)
    assert (status, observed) == ("ok", "all 1 declared attribute paths are kept as written")


def failing_patch(fake: FakeScim) -> FakeScim:
    fake.fail("PATCH", "/Users/*", status=500, times=1000,
              body={"detail": "Called with a non-null path and a str value"})  # fmt: skip
    return fake


def test_a_patch_that_fails_with_500_says_apply_fails_and_names_the_quirk() -> None:
    fake = failing_patch(populated())
    client = ScimClient(fake.client(), BASE_URL, retry=TINY)
    config = Config("fake", BASE_URL)
    report = run_doctor(client, config, write_probe=True, new_name=names())
    finding = report.finding("patch", "replace")
    assert finding.status == "warn"
    assert finding.observed.startswith("PATCH replace of name.givenName failed (500")
    assert finding.action == (
        "apply fails on this 500 (it falls back to GET-merge-PUT only on 400, 405 or 501); "
        "with quirks: {patch: never} it writes by GET-merge-PUT from the start"
    )


def test_with_patch_never_the_declared_attributes_are_probed_by_put() -> None:
    fake = failing_patch(populated())
    samples: dict[str, Json] = {"title": "Eng", "name.givenName": "Al"}
    never = Config("fake", BASE_URL, quirks={"patch": "never"})
    status, observed, _ = probe(fake, never, samples)
    assert (status, observed) == ("ok", "all 2 declared attribute paths are kept as written")
    fake = failing_patch(populated())
    status, observed, _ = probe(fake, Config("fake", BASE_URL), samples)
    assert status == "warn"
    assert observed.startswith("of 2 declared: refused: name.givenName (500")


def test_patch_is_probed_on_an_attribute_the_target_stores() -> None:
    # A target that stores no name.givenName (it keeps only a formatted name) answered
    # its PATCH with 200 and was reported as one whose PATCH changes nothing.
    fake = populated()
    fake.drops = {"name"}
    client = ScimClient(fake.client(), BASE_URL, retry=TINY)
    report = run_doctor(client, Config("fake", BASE_URL), write_probe=True, new_name=names())
    finding = report.finding("patch", "replace")
    assert (finding.status, finding.observed) == (
        "ok",
        "PATCH replace of displayName answered 200 with the resource, and applied",
    )
    assert report.finding("patch", "advertised").status == "ok"


def test_patch_that_changes_nothing_anywhere_is_still_a_failure() -> None:
    fake = populated()
    fake.fail("PATCH", "/Users/*", status=200, times=1000, body={})
    client = ScimClient(fake.client(), BASE_URL, retry=TINY)
    report = run_doctor(client, Config("fake", BASE_URL), write_probe=True, new_name=names())
    finding = report.finding("patch", "replace")
    assert (finding.status, finding.observed) == (
        "fail",
        "PATCH replace of name.givenName answered 200 but changed nothing",
    )


ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
INITIAL = "Init-Pw-7Gx2Qm9v"


def test_a_write_only_declared_attribute_is_never_sent_in_a_probe() -> None:
    # Its value is a secret (an initial password): a target refusing it may quote it, and
    # it is never returned, so no probe could see it kept.
    fake = populated()
    fake.schemas = [USER_SCHEMA, ACME]
    fake.schema_attributes = {
        ACME: [{"name": "initialPassword", "type": "string", "mutability": "writeOnly"}]
    }
    samples: dict[str, Json] = {f"{ACME}:initialPassword": INITIAL, "title": "Eng"}
    status, observed, _ = probe(fake, Config("fake", BASE_URL), samples)
    assert (status, observed) == (
        "ok",
        "all 1 declared attribute paths are kept as written; not tried, write-only (never "
        f"returned): {ACME}:initialPassword",
    )
    assert not any(INITIAL in json.dumps(s.body) for s in fake.requests)
