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


def scope(clauses: str) -> str:
    return TARGET + "    out_of_scope: deprovision\n    scope:\n" + clauses


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        pytest.param(
            "      - - {attribute: enterprise.departmnt, operator: EQUALS, value: Eng}\n",
            "a.yaml:2:3: targets.t.scope[0][0].attribute: unknown scope attribute "
            "'enterprise.departmnt' (did you mean 'enterprise.department'?): no declared user "
            "has it and it is not a SCIM user attribute, so the clause reads nothing for every "
            "user",
            id="misspelt-enterprise-attribute",
        ),
        pytest.param(
            "      - - {attribute: active, operator: IS TRUE}\n"
            "      - - {attribute: emplyeeId, operator: IS NOT NULL}\n",
            "a.yaml:2:3: targets.t.scope[1][0].attribute: unknown scope attribute "
            "'emplyeeId' (did you mean 'employeeId'?): no declared user has it and it is not "
            "a SCIM user attribute, so the clause reads nothing for every user",
            id="misspelt-custom-in-a-second-group",
        ),
    ],
)
def test_unknown_scope_attributes_are_errors(tmp_path: Path, clauses: str, expected: str) -> None:
    # Before: every user fell out of scope, and out_of_scope: deprovision disabled them all
    # (ten or fewer pass the default guard: a small company, every account).
    assert spec_issues(tmp_path, {"a.yaml": scope(clauses) + ALICE}) == [expected]


def test_known_scope_attributes_pass(tmp_path: Path) -> None:
    clauses = (
        "      - - {attribute: enterprise.department, operator: EQUALS, value: Eng}\n"  # SCIM
        "        - {attribute: mail, operator: IS NOT NULL}\n"  # a custom attribute
        "      - - {attribute: custom.employeeId, operator: EQUALS, value: E1}\n"
        "      - - {attribute: groups, operator: EQUALS, value: Admins}\n"  # derived
        "      - - {attribute: emails.value, operator: REGEX MATCH, value: '@example'}\n"
    )
    write_tree(tmp_path, {"a.yaml": scope(clauses) + ALICE})
    assert load_spec(tmp_path).targets["t"].scope is not None


def test_a_tree_without_users_has_nothing_to_check_scope_attributes_against(
    tmp_path: Path,
) -> None:
    clauses = "      - - {attribute: anything, operator: IS NULL}\n"
    write_tree(tmp_path, {"a.yaml": scope(clauses)})
    assert load_spec(tmp_path).targets["t"].scope is not None
