"""`validate` catches a mapping that reads an attribute nothing has, and a URL to an endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.spec.load import load_spec
from tests.spec.test_load import Files, spec_issues, write_tree

TARGET = "targets:\n  t:\n    url: https://scim.example.com/v2\n"
ALICE = (
    "users:\n"
    "  - userName: alice@example.com\n"
    "    name: {givenName: Alice}\n"
    "    emails: [{value: alice@example.com, primary: true}]\n"
    "    custom: {mail: Alice@Corp.Example, employeeId: E1}\n"
)


def mapping(text: str) -> str:
    return TARGET + "    mappings:\n      user:\n" + text


@pytest.mark.parametrize(
    ("mapped", "expected"),
    [
        pytest.param(
            "        userName: 'ToLower([maill])'\n",
            "a.yaml:6:9: targets.t.mappings.user.userName: unknown source attribute 'maill' "
            "(did you mean 'mail'?): no declared user has it and it is not a SCIM user "
            "attribute, so userName would never be set",
            id="misspelt-custom-in-expression",
        ),
        pytest.param(
            "        title: {source: jobTitle}\n",
            "a.yaml:6:9: targets.t.mappings.user.title: unknown source attribute 'jobTitle' "
            "(Entra's jobTitle is title in a scimrec spec): no declared user has it and it is "
            "not a SCIM user attribute, so title would never be set",
            id="source-nobody-has",
        ),
        pytest.param(
            "        displayName: 'Join(\" \", [name.givenName], [surname])'\n",
            "a.yaml:6:9: targets.t.mappings.user.displayName: unknown source attribute "
            "'surname' (Entra's surname is name.familyName in a scimrec spec): no declared user "
            "has it and it is not a SCIM user attribute, so displayName would never be set",
            id="entra-attribute-name",
        ),
    ],
)
def test_unknown_sources_are_errors(tmp_path: Path, mapped: str, expected: str) -> None:
    assert spec_issues(tmp_path, {"a.yaml": mapping(mapped) + ALICE}) == [expected]


def test_known_sources_pass(tmp_path: Path) -> None:
    mapped = (
        "        userName: 'ToLower([mail])'\n"  # a custom attribute, by its name
        "        externalId: '[custom.employeeId]'\n"  # ... or under custom.
        "        displayName: 'Join(\" \", [name.givenName], [name.familyName])'\n"
        "        nickName: {source: emails.value}\n"  # the primary email
        "        title: {source: enterprise.department}\n"  # SCIM, though nobody declares it
        "        userType: {source: custom.kind, default: Employee}\n"  # nobody yet: the default
        "        profileUrl: 'Join(\",\", [groups])'\n"  # what assignment derives
        "        locale: 'Item([appRoleAssignments], 1)'\n"
    )
    write_tree(tmp_path, {"a.yaml": mapping(mapped) + ALICE})
    assert len(load_spec(tmp_path).users) == 1


def test_a_tree_without_users_has_nothing_to_check_sources_against(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": mapping("        userName: 'ToLower([mail])'\n")})
    assert load_spec(tmp_path).targets["t"].user_mappings[0].target == "userName"


@pytest.mark.parametrize("endpoint", ["Users", "Groups/", "ServiceProviderConfig", "users"])
def test_a_url_to_an_endpoint_is_refused(tmp_path: Path, endpoint: str) -> None:
    files: Files = {"a.yaml": f"targets:\n  t:\n    url: https://scim.example.com/v2/{endpoint}\n"}
    assert spec_issues(tmp_path, files) == [
        f"a.yaml:3:5: targets.t.url: the URL ends in /{endpoint.rstrip('/')}: give the SCIM "
        "base URL ('https://scim.example.com/v2'); scimrec adds /Users, /Groups and the rest "
        "itself"
    ]
