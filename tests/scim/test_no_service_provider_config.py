"""Targets that publish no ServiceProviderConfig (many an Okta- or Entra-provisioned app:
neither reads it) are still SCIM targets when /Users answers a ListResponse."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Capabilities
from reconciler.errors import TargetError
from reconciler.scim.connection import test_connection as connect
from tests.doctor.test_doctor import fake_doctor
from tests.fakescim import FakeScim
from tests.scim.test_faults import (
    TARGET,
    RecordingLog,
    plan_and_apply,
    replan,
    scim_client,
    user,
    write_spec,
)


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_target_without_service_provider_config_is_read_with_defaults(status: int) -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig*", status=status, times=2)
    log = RecordingLog()
    caps = connect(scim_client(fake), TARGET, log)
    assert caps == Capabilities(patch=True, etag=False, bulk=False, filter_honoured=True)
    (warning,) = log.named("no service provider config")
    assert warning["outcome"] == "defaults"


def test_the_plural_path_of_scim_1_1_is_read_where_the_singular_is_missing() -> None:
    fake = FakeScim()
    fake.config["etag"] = {"supported": True}
    fake.fail("GET", "/ServiceProviderConfig", status=404)
    served = fake.fail("GET", "/ServiceProviderConfigs", status=200, body=fake.config)
    caps = connect(scim_client(fake), TARGET, RecordingLog())
    assert served.times == 0
    assert (caps.patch, caps.etag, caps.filter_supported) == (True, True, True)


def test_a_base_url_that_lists_no_users_still_has_no_scim_endpoint() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig*", status=404, times=2)
    fake.fail("GET", "/Users", status=404, times=5)
    with pytest.raises(TargetError) as caught:
        connect(scim_client(fake), TARGET, RecordingLog())
    assert str(caught.value) == (
        f"{TARGET.url} has no SCIM endpoint (GET /ServiceProviderConfig answered 404): "
        "is the base URL right? it usually ends in /scim/v2"
    )


def test_a_users_page_that_is_no_list_response_is_no_scim_endpoint() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig*", status=404, times=2)
    fake.fail("GET", "/Users", status=200, body={"status": "ok"})
    with pytest.raises(TargetError, match="has no SCIM endpoint"):
        connect(scim_client(fake), TARGET, RecordingLog())


def test_users_refused_to_the_credentials_says_so() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig*", status=404, times=2)
    fake.fail("GET", "/Users", status=401)
    with pytest.raises(TargetError, match=r"refused our credentials \(401\)"):
        connect(scim_client(fake), TARGET, RecordingLog())


def test_a_users_page_that_fails_on_count_is_asked_without_it() -> None:
    fake = FakeScim()
    fake.count_crashes = True
    fake.fail("GET", "/ServiceProviderConfig*", status=404, times=2)
    caps = connect(scim_client(fake), TARGET, RecordingLog())
    assert caps.count_refused


@pytest.mark.usefixtures("token")
def test_plan_and_apply_converge_on_a_target_without_discovery(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.patch_unsupported = True  # and it takes no PATCH: GET-merge-PUT after the refusal
    fake.add_user("a@example.com", title="Old", nickName="kept")
    fake.fail("GET", "/ServiceProviderConfig*", status=404, times=1000)
    specs = write_spec(
        tmp_path,
        [user("a@example.com", title="New"), user("b@example.com")],
        [{"displayName": "Eng", "members": ["a@example.com", "b@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    (stored,) = fake.user_named("a@example.com")
    assert (stored["title"], stored["nickName"]) == ("New", "kept")
    (group,) = fake.groups.values()
    assert len(group["members"]) == 2
    assert not replan(specs, fake).plan.has_changes


def test_doctor_warns_of_a_missing_service_provider_config_instead_of_failing() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig", status=404)
    report, statuses = fake_doctor(fake, write_probe=False)
    assert statuses[("discovery", "/ServiceProviderConfig")] == "warn"
    (finding,) = [f for f in report.findings if f.check == "/ServiceProviderConfig"]
    assert finding.action.startswith("scimrec assumes PATCH")
