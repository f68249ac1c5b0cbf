"""Table-driven tests of `reconciler.spec.load_spec`: valid trees and every kind of invalid spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.config import Auth, Target
from reconciler.core.model import Kind, Location, State
from reconciler.errors import SpecError, UsageError
from reconciler.spec.load import load_spec

Files = dict[str, str | bytes]

TARGET = "targets:\n  t:\n    url: https://scim.example.com/v2\n"

HTTP_HINT = "(allow_http: true overrides this, sending tokens in clear text)"


def write_tree(root: Path, files: Files) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def spec_issues(root: Path, files: Files) -> list[str]:
    """The `str()` of every issue load_spec raises, with the tmp directory prefix removed."""
    write_tree(root, files)
    with pytest.raises(SpecError) as info:
        load_spec(root)
    prefix = f"{root.as_posix()}/"
    return [str(issue).replace(prefix, "") for issue in info.value.issues]


# -- a valid tree -------------------------------------------------------------------------------

VALID_TREE: Files = {
    "targets.yaml": (
        "version: 1\n"
        "targets:\n"
        "  sandbox:\n"
        "    url: http://127.0.0.1:8000/scim/v2/\n"
        "    auth: {type: bearer, token_env: SANDBOX_SCIM_TOKEN}\n"
        "    matching:\n"
        "      user: [userName, externalId]\n"
        "    deprovision: delete\n"
        "    guards: {max_deletes: 5, max_delete_percent: 20}\n"
    ),
    "people/a.yml": (
        "users:\n"
        "  - userName: alice@example.com\n"
        "    externalId: alice\n"
        "    name: {givenName: Alice, familyName: Wong}\n"
        "    emails: [{value: alice@example.com, type: work, primary: true}]\n"
        "    active: true\n"
        "    enterprise: {department: Engineering, manager: BOB@example.com}\n"
    ),
    "people/b.yaml": (
        "version: 1\n"
        "users:\n"
        "  - userName: bob@example.com\n"
        "    externalId: bob\n"
        "    title: null\n"
        "  - userName: mallory@example.com\n"
        "    externalId: mallory\n"
        "    state: absent\n"
    ),
    "people/empty.yaml": "",
    "z-groups.yaml": (
        "groups:\n"
        "  - displayName: Engineering\n"
        "    externalId: eng\n"
        "    members: [ALICE@example.com, bob@example.com]\n"
        "  - displayName: Everyone\n"
        "  - displayName: Nobody\n"
        "    members: []\n"
    ),
    "README.md": "not a spec: ignored\n",
    "people/notes.txt": "users: [this would be invalid]\n",
}


def test_valid_tree_files_are_merged_in_sorted_order(tmp_path: Path) -> None:
    write_tree(tmp_path, VALID_TREE)
    spec = load_spec(tmp_path)
    assert spec.files == tuple(
        (tmp_path / name).as_posix()
        for name in (
            "people/a.yml",
            "people/b.yaml",
            "people/empty.yaml",
            "targets.yaml",
            "z-groups.yaml",
        )
    )
    assert [u.key for u in spec.users] == [
        "alice@example.com",
        "bob@example.com",
        "mallory@example.com",
    ]
    assert [g.key for g in spec.groups] == ["Engineering", "Everyone", "Nobody"]


def test_valid_tree_users_are_flattened_and_manager_resolved(tmp_path: Path) -> None:
    write_tree(tmp_path, VALID_TREE)
    spec = load_spec(tmp_path)
    alice, bob, mallory = spec.users
    assert alice.kind is Kind.USER
    assert dict(alice.attrs) == {
        "userName": "alice@example.com",
        "externalId": "alice",
        "name.givenName": "Alice",
        "name.familyName": "Wong",
        "emails": [{"value": "alice@example.com", "type": "work", "primary": True}],
        "active": True,
        "enterprise.department": "Engineering",
        # Written as BOB@example.com; resolved to the declared user's key.
        "enterprise.manager": "bob@example.com",
    }
    assert alice.state is State.PRESENT
    assert alice.present
    assert alice.location == Location((tmp_path / "people/a.yml").as_posix(), 2, 5)
    assert alice.attr_locations["enterprise.manager"] == Location(
        (tmp_path / "people/a.yml").as_posix(), 7, 43
    )
    # An explicit null is kept: it means "clear it on the target".
    assert dict(bob.attrs) == {"userName": "bob@example.com", "externalId": "bob", "title": None}
    assert mallory.state is State.ABSENT
    assert not mallory.present
    assert "state" not in mallory.attrs


def test_valid_tree_groups_and_members(tmp_path: Path) -> None:
    write_tree(tmp_path, VALID_TREE)
    eng, everyone, nobody = load_spec(tmp_path).groups
    assert eng.kind is Kind.GROUP
    assert dict(eng.attrs) == {"displayName": "Engineering", "externalId": "eng"}
    # Member keys are resolved case-insensitively to the declared user keys.
    assert eng.members == ("alice@example.com", "bob@example.com")
    # No `members:` means membership is not managed; `members: []` means "no members".
    assert everyone.members is None
    assert nobody.members == ()


def test_valid_tree_target(tmp_path: Path) -> None:
    write_tree(tmp_path, VALID_TREE)
    spec = load_spec(tmp_path)
    assert list(spec.targets) == ["sandbox"]
    assert spec.targets["sandbox"] == Target(
        name="sandbox",
        url="http://127.0.0.1:8000/scim/v2",
        auth=Auth(type="bearer", token_env="SANDBOX_SCIM_TOKEN"),
        user_matching=("userName", "externalId"),
        group_matching=("displayName",),
        deprovision="delete",
        prune="none",
        max_deletes=5,
        max_delete_percent=20,
        location=Location((tmp_path / "targets.yaml").as_posix(), 3, 3),
    )


def test_target_defaults(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": TARGET})
    target = load_spec(tmp_path).targets["t"]
    assert target.auth == Auth(type="none")
    assert (target.user_matching, target.group_matching) == (("userName",), ("displayName",))
    assert (target.deprovision, target.prune) == ("disable", "none")
    assert (target.max_deletes, target.max_delete_percent) == (None, None)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/scim/v2", "http://localhost/scim", "http://[::1]:9/scim"]
)
def test_plain_http_is_accepted_for_loopback(tmp_path: Path, url: str) -> None:
    write_tree(tmp_path, {"a.yaml": f"targets:\n  t:\n    url: '{url}'\n"})
    assert load_spec(tmp_path).targets["t"].url == url


@pytest.mark.parametrize(
    ("text", "where", "shown"),
    [
        # A block scalar keeps its line break; urlsplit drops it, the HTTP client refuses it.
        (
            "url: |\n      https://scim.example/scim/v2\n",
            "4:5: targets.t.url",
            "'\\n' at position 29",
        ),
        ('url: "https://scim.ex\\tample/scim/v2"\n', "4:5: targets.t.url", "'\\t' at position 16"),
        ('url: "https://scim.example/scim/v2\\u200b"\n', "4:5: targets.t.url", "'\\u200b'"),
        (
            "url: https://scim.example/v2\n    auth: {type: oauth2_client_credentials, "
            'token_url: "https://idp.example/token\\r\\n",\n'
            "           client_id_env: I, client_secret_env: S}\n",
            "5:45: targets.t.auth.token_url",
            "'\\r' at position 26",
        ),
    ],
)
def test_a_url_holding_whitespace_or_a_control_character_is_refused(
    tmp_path: Path, text: str, where: str, shown: str
) -> None:
    write_tree(tmp_path, {"a.yaml": "version: 1\ntargets:\n  t:\n    " + text})
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    [issue] = [str(i) for i in info.value.issues]
    assert issue.startswith(f"{(tmp_path / 'a.yaml').as_posix()}:{where}: the URL holds ")
    assert shown in issue


def test_a_host_that_is_not_ascii_is_refused_with_its_idna_form(tmp_path: Path) -> None:
    # A Cyrillic o (U+043E): reviewed, the line reads okta.example.com; the requests, and the
    # token, go to xn--kta-red.example.com.
    write_tree(tmp_path, {"a.yaml": "targets:\n  t:\n    url: https://\u043ekta.example.com/v2\n"})
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert str(info.value) == (
        f"{(tmp_path / 'a.yaml').as_posix()}:3:5: targets.t.url: the host is not ASCII: write "
        "it as 'xn--kta-red.example.com' if that is the host meant"
    )
    write_tree(
        tmp_path, {"a.yaml": "targets:\n  t:\n    url: https://xn--kta-red.example.com/v2\n"}
    )
    assert load_spec(tmp_path).targets["t"].url == "https://xn--kta-red.example.com/v2"


@pytest.mark.parametrize("name", ["prod", "eu-west.1", "HR_2", "9lives"])
def test_a_target_name_fit_for_environment_artifact_and_file_names_is_accepted(
    tmp_path: Path, name: str
) -> None:
    write_tree(tmp_path, {"a.yaml": f"targets:\n  {name}:\n    url: https://x.example/v2\n"})
    assert list(load_spec(tmp_path).targets) == [name]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        # The action read the word `all` in its `targets` input as --all-targets: the matrix
        # job of a target so named planned every target with that target's credentials.
        ("all", "the target name 'all' is reserved: give the target another name"),
        ("ALL", "the target name 'ALL' is reserved: give the target another name"),
        *(
            (
                name,
                f"the target name {name!r} is not allowed: use letters, digits, '_', '.' "
                "and '-', starting with a letter or digit, never '..' (the name goes into "
                "environment, artifact and file names)",
            )
            for name in ("a b", "a/b", "a..b", "-t", ".hidden", "{target}", "caf\u00e9")
        ),
    ],
)
def test_a_target_name_is_refused_unless_safe_everywhere_it_goes(
    tmp_path: Path, name: str, message: str
) -> None:
    write_tree(tmp_path, {"a.yaml": f"targets:\n  {name!r}:\n    url: https://x.example/v2\n"})
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert str(info.value) == f"{(tmp_path / 'a.yaml').as_posix()}:2:3: targets.{name}: {message}"


def test_digest_depends_on_content_only(tmp_path: Path) -> None:
    write_tree(tmp_path, VALID_TREE)
    first = load_spec(tmp_path).digest
    assert load_spec(tmp_path).digest == first
    (tmp_path / "people/b.yaml").write_text(
        "users:\n  - userName: bob@example.com\n    externalId: bob\n"
        "  - userName: mallory@example.com\n    externalId: mallory\n",
        encoding="utf-8",
    )
    assert load_spec(tmp_path).digest != first


def test_a_single_file_is_a_spec(tmp_path: Path) -> None:
    write_tree(tmp_path, {"one.yaml": "users:\n  - userName: a@example.com\n"})
    spec = load_spec(tmp_path / "one.yaml")
    assert [u.key for u in spec.users] == ["a@example.com"]


def test_a_link_out_of_the_tree_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secrets.yaml"
    secret.write_text("users:\n  - userName: SECRET-CONTENT\n    bogus: [\n", encoding="utf-8")
    specs = tmp_path / "specs"
    write_tree(specs, {"a.yaml": "users:\n  - userName: a@example.com\n"})
    (specs / "b.yaml").symlink_to(secret)
    with pytest.raises(SpecError) as info:
        load_spec(specs)
    assert str(info.value) == (
        f"{(specs / 'b.yaml').as_posix()}:1:1: resolves to {secret.resolve().as_posix()}, "
        f"outside the spec tree {specs.resolve().as_posix()}: refused (spec files are read "
        "only inside their tree)"
    )
    assert "SECRET-CONTENT" not in str(info.value)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_a_link_to_the_environment_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": "users: []\n"})
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "env.yml").symlink_to("/proc/self/environ")
    with pytest.raises(SpecError, match=r"nested/env\.yml:1:1: resolves to /proc/"):
        load_spec(tmp_path)


def test_a_single_file_spec_that_links_out_of_its_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "real.yaml"
    write_tree(tmp_path, {"elsewhere/real.yaml": "users: []\n"})
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "main.yaml").symlink_to(outside)
    with pytest.raises(SpecError, match="outside the spec tree"):
        load_spec(tmp_path / "specs" / "main.yaml")


def test_links_that_stay_inside_the_tree_are_read(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shared/people.yaml": "users:\n  - userName: a@example.com\n"})
    (tmp_path / "people.yaml").symlink_to(tmp_path / "shared" / "people.yaml")
    (tmp_path / "shared" / "again.yaml").symlink_to("../shared/people.yaml")
    with pytest.raises(SpecError, match="duplicate user"):  # read three times, so twice too many
        load_spec(tmp_path)
    assert [u.key for u in load_spec(tmp_path / "shared" / "people.yaml").users] == [
        "a@example.com"
    ]


def test_missing_root_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_spec(tmp_path / "nope")
    assert str(info.value) == f"no such file or directory: {tmp_path / 'nope'}"
    with pytest.raises(UsageError) as empty:
        load_spec(tmp_path)
    assert str(empty.value) == (
        f"no *.yaml or *.yml files in {tmp_path} (outside dot-directories and node_modules)"
    )


# -- invalid specs: one row per problem, with the exact messages --------------------------------

INVALID: list[tuple[str, Files, list[str]]] = [
    (
        "wrong-type-userName",
        {"a.yaml": "users:\n  - userName: 42\n"},
        ["a.yaml:2:5: users[0].userName: expected a string, got a number"],
    ),
    (
        "wrong-type-active",
        {"a.yaml": 'users:\n  - userName: a@example.com\n    active: "yes"\n'},
        ["a.yaml:3:5: users[0].active: expected true or false, got a string"],
    ),
    (
        "wrong-type-name-part",
        {"a.yaml": "users:\n  - userName: a@example.com\n    name: {givenName: [A]}\n"},
        ["a.yaml:3:12: users[0].name.givenName: expected a string, got a list"],
    ),
    (
        "wrong-type-emails",
        {"a.yaml": "users:\n  - userName: a@example.com\n    emails: a@example.com\n"},
        ["a.yaml:3:5: users[0].emails: expected a list, got a string"],
    ),
    (
        "wrong-type-primary",
        {
            "a.yaml": "users:\n  - userName: a@example.com\n"
            '    emails: [{value: a@example.com, primary: "yes"}]\n'
        },
        ["a.yaml:3:37: users[0].emails[0].primary: expected true or false, got a string"],
    ),
    (
        "wrong-type-users",
        {"a.yaml": "users: {userName: a@example.com}\n"},
        ["a.yaml:1:1: users: expected a list, got a mapping"],
    ),
    (
        "wrong-type-user",
        {"a.yaml": "users: [a@example.com]\n"},
        ["a.yaml:1:9: users[0]: a user must be a mapping, got a string"],
    ),
    (
        "wrong-type-targets",
        {"a.yaml": "targets: [t]\n"},
        ["a.yaml:1:1: targets: expected a mapping of target names to targets"],
    ),
    (
        "file-not-a-mapping",
        {"a.yaml": "- userName: a@example.com\n"},
        ["a.yaml:1:1: a spec file must be a mapping, got a list"],
    ),
    (
        "missing-userName",
        {"a.yaml": "users:\n  - displayName: A\n"},
        ["a.yaml:2:5: users[0]: missing 'userName'"],
    ),
    (
        "empty-displayName",
        {"a.yaml": "groups:\n  - displayName: ' '\n"},
        ["a.yaml:2:5: groups[0].displayName: displayName must not be empty"],
    ),
    (
        "bad-state",
        {"a.yaml": "users:\n  - userName: a@example.com\n    state: gone\n"},
        ["a.yaml:3:5: users[0].state: expected one of present, absent, got 'gone'"],
    ),
    (
        "unknown-user-attribute",
        {"a.yaml": "users:\n  - userName: a@example.com\n    titel: Boss\n"},
        ["a.yaml:3:5: users[0].titel: unknown user attribute 'titel' (did you mean 'title'?)"],
    ),
    (
        "unknown-user-attribute-no-hint",
        {"a.yaml": "users:\n  - userName: a@example.com\n    shoeSize: 44\n"},
        ["a.yaml:3:5: users[0].shoeSize: unknown user attribute 'shoeSize'"],
    ),
    (
        "unknown-name-part",
        {"a.yaml": "users:\n  - userName: a@example.com\n    name: {givnName: A}\n"},
        [
            "a.yaml:3:12: users[0].name.givnName: unknown name part 'givnName' "
            "(did you mean 'givenName'?)"
        ],
    ),
    (
        "unknown-enterprise-attribute",
        {"a.yaml": "users:\n  - userName: a@example.com\n    enterprise: {departement: X}\n"},
        [
            "a.yaml:3:18: users[0].enterprise.departement: unknown enterprise attribute "
            "'departement' (did you mean 'department'?)"
        ],
    ),
    (
        "unknown-sub-attribute",
        {
            "a.yaml": "users:\n  - userName: a@example.com\n"
            "    emails: [{value: a@example.com, typ: work}]\n"
        },
        ["a.yaml:3:37: users[0].emails[0].typ: unknown sub-attribute 'typ' (did you mean 'type'?)"],
    ),
    (
        "unknown-group-attribute",
        {"a.yaml": "groups:\n  - displayName: Eng\n    member: []\n"},
        [
            "a.yaml:3:5: groups[0].member: unknown group attribute 'member' "
            "(did you mean 'members'?)"
        ],
    ),
    (
        "unknown-target-setting",
        {"a.yaml": TARGET + "    deprovison: delete\n"},
        [
            "a.yaml:4:5: targets.t.deprovison: unknown target setting 'deprovison' "
            "(did you mean 'deprovision'?)"
        ],
    ),
    (
        "unknown-guard",
        {"a.yaml": TARGET + "    guards: {max_delete: 3}\n"},
        [
            "a.yaml:4:14: targets.t.guards.max_delete: unknown guard 'max_delete' "
            "(did you mean 'max_deletes'?)"
        ],
    ),
    (
        "unknown-top-level-key",
        {"a.yaml": "user:\n  - userName: a@example.com\n"},
        ["a.yaml:1:1: user: unknown top-level key 'user' (did you mean 'users'?)"],
    ),
    (
        "unknown-top-level-key-no-hint",
        {"a.yaml": "version: 1\nfrobnicate: 1\n"},
        ["a.yaml:2:1: frobnicate: unknown top-level key 'frobnicate'"],
    ),
    (
        "duplicate-yaml-key",
        {"a.yaml": "users:\n  - userName: a@example.com\n    userName: b@example.com\n"},
        ["a.yaml:3:5: users[0].userName: duplicate key"],
    ),
    (
        "duplicate-top-level-key",
        {"a.yaml": "users: []\nusers: []\n"},
        ["a.yaml:2:1: users: duplicate key"],
    ),
    (
        "tab-indentation",
        {"a.yaml": "users:\n\t- userName: a@example.com\n"},
        ["a.yaml:2:1: YAML syntax error: found character that cannot start any token"],
    ),
    (
        "yaml-syntax-error",
        {"a.yaml": "users: [a@example.com\nversion: 1\n"},
        ["a.yaml:2:8: YAML syntax error: did not find expected ',' or ']'"],
    ),
    (
        "non-utf8",
        {"a.yaml": b"users:\n  - userName: caf\xe9@example.com\n"},
        ["a.yaml:2:18: file is not valid UTF-8"],
    ),
    (
        "unknown-version",
        {"a.yaml": "version: 2\n"},
        ["a.yaml:1:1: version: unsupported spec version 2 (supported: 1)"],
    ),
    (
        "version-as-string",
        {"a.yaml": "version: '1'\n"},
        ["a.yaml:1:1: version: unsupported spec version '1' (supported: 1)"],
    ),
    (
        "duplicate-user-case-variant",
        {"a.yaml": "users:\n  - userName: alice@example.com\n  - userName: Alice@Example.COM\n"},
        [
            "a.yaml:3:5: users[Alice@Example.COM].userName: duplicate user: "
            "'alice@example.com' is already declared at a.yaml:2:5"
        ],
    ),
    (
        "duplicate-user-across-files",
        {
            "a.yaml": "users:\n  - userName: alice@example.com\n",
            "sub/b.yaml": "version: 1\nusers:\n  - userName: alice@example.com\n",
        },
        [
            "sub/b.yaml:3:5: users[alice@example.com].userName: duplicate user: "
            "'alice@example.com' is already declared at a.yaml:2:5"
        ],
    ),
    (
        "duplicate-group",
        {"a.yaml": "groups:\n  - displayName: Eng\n  - displayName: ENG\n"},
        [
            "a.yaml:3:5: groups[ENG].displayName: duplicate group: "
            "'Eng' is already declared at a.yaml:2:5"
        ],
    ),
    (
        "duplicate-target",
        {"a.yaml": TARGET, "b.yaml": TARGET},
        ["b.yaml:2:3: targets.t: target 't' is already defined at a.yaml:2:3"],
    ),
    (
        "member-undeclared",
        {
            "a.yaml": "users:\n  - userName: alice@example.com\n"
            "groups:\n  - displayName: Eng\n"
            "    members: [alice@example.com, zed@example.com]\n"
        },
        ["a.yaml:5:5: groups[Eng].members: member 'zed@example.com' is not a declared user"],
    ),
    (
        "member-absent",
        {
            "a.yaml": "users:\n  - userName: mallory@example.com\n    state: absent\n"
            "groups:\n  - displayName: Eng\n    members: [mallory@example.com]\n"
        },
        ["a.yaml:6:5: groups[Eng].members: member 'mallory@example.com' has state: absent"],
    ),
    (
        "member-listed-twice",
        {
            "a.yaml": "users:\n  - userName: alice@example.com\n"
            "groups:\n  - displayName: Eng\n"
            "    members: [alice@example.com, ALICE@example.com]\n"
        },
        ["a.yaml:5:5: groups[Eng].members: member 'ALICE@example.com' is listed twice"],
    ),
    (
        "manager-unknown",
        {
            "a.yaml": "users:\n  - userName: alice@example.com\n"
            "    enterprise: {manager: zed@example.com}\n"
        },
        [
            "a.yaml:3:18: users[alice@example.com].enterprise.manager: "
            "manager 'zed@example.com' is not a declared user"
        ],
    ),
    (
        "manager-self",
        {
            "a.yaml": "users:\n  - userName: alice@example.com\n"
            "    enterprise: {manager: ALICE@example.com}\n"
        },
        [
            "a.yaml:3:18: users[alice@example.com].enterprise.manager: "
            "a user cannot be their own manager"
        ],
    ),
    (
        "manager-absent",
        {
            "a.yaml": "users:\n  - userName: alice@example.com\n"
            "    enterprise: {manager: bob@example.com}\n"
            "  - userName: bob@example.com\n    state: absent\n"
        },
        [
            "a.yaml:3:18: users[alice@example.com].enterprise.manager: "
            "manager 'bob@example.com' has state: absent"
        ],
    ),
    (
        "missing-first-matching-attribute",
        {
            "a.yaml": TARGET + "    matching: {user: [externalId, userName]}\n"
            "users:\n  - userName: alice@example.com\n    externalId: alice\n"
            "  - userName: bob@example.com\n"
        },
        [
            "a.yaml:8:5: users[bob@example.com].externalId: missing 'externalId', "
            "the first matching attribute of target 't'"
        ],
    ),
    (
        "declared-matching-values-collide",
        {
            "a.yaml": TARGET + "    matching: {user: [externalId, userName]}\n"
            "users:\n  - userName: alice@example.com\n    externalId: x1\n"
            "  - userName: bob@example.com\n    externalId: x1\n"
        },
        [
            "a.yaml:9:5: users[bob@example.com].externalId: 'x1' is also the externalId of "
            "'alice@example.com'; target 't' matches on it"
        ],
    ),
    (
        "bad-matching-attribute",
        {"a.yaml": TARGET + "    matching: {user: [email]}\n"},
        [
            "a.yaml:4:23: targets.t.matching.user[0]: cannot match on 'email' (supported: "
            "userName, externalId, displayName, emails.value, enterprise.employeeNumber)"
        ],
    ),
    (
        "missing-url",
        {"a.yaml": "targets:\n  t:\n    auth: {type: none}\n"},
        ["a.yaml:2:3: targets.t: missing 'url'"],
    ),
    (
        "http-url-not-loopback",
        {"a.yaml": "targets:\n  t:\n    url: http://scim.example.com/v2\n"},
        ["a.yaml:3:5: targets.t.url: https is required except for loopback addresses " + HTTP_HINT],
    ),
    (
        "http-url-lookalike-of-localhost",
        {"a.yaml": "targets:\n  t:\n    url: http://localhost.example.com/v2\n"},
        ["a.yaml:3:5: targets.t.url: https is required except for loopback addresses " + HTTP_HINT],
    ),
    (
        "not-an-http-url",
        {"a.yaml": "targets:\n  t:\n    url: ftp://scim.example.com\n"},
        ["a.yaml:3:5: targets.t.url: expected an http(s) URL, got 'ftp://scim.example.com'"],
    ),
    (
        "url-with-credentials-and-a-wrong-scheme",
        {"a.yaml": "targets:\n  t:\n    url: 'ftp://svc:Pa55-w0rd@scim.example.com/v2'\n"},
        ["a.yaml:3:5: targets.t.url: expected an http(s) URL, got 'ftp://***@scim.example.com/v2'"],
    ),
    (
        "token-url-with-credentials-and-no-host",
        {
            "a.yaml": TARGET + "    auth: {type: oauth2_client_credentials, token_url: "
            "'https://svc:Pa55-w0rd@/t', client_id_env: A, client_secret_env: B}\n"
        },
        ["a.yaml:4:45: targets.t.auth.token_url: expected an http(s) URL, got 'https://***@/t'"],
    ),
    (
        "url-with-credentials-ending-in-an-endpoint",
        {"a.yaml": "targets:\n  t:\n    url: 'https://svc:Pa55-w0rd@scim.example.com/Users'\n"},
        [
            "a.yaml:3:5: targets.t.url: the URL carries credentials (user:password@): give "
            "them in auth",
            "a.yaml:3:5: targets.t.url: the URL ends in /Users: give the SCIM base URL "
            "('https://***@scim.example.com'); scimrec adds /Users, /Groups and the rest itself",
        ],
    ),
    (
        "url-unclosed-ipv6-bracket",
        {"a.yaml": "targets:\n  t:\n    url: 'https://[scim.example.com/v2'\n"},
        [
            "a.yaml:3:5: targets.t.url: not a URL: a '[' or ']' in its host is unmatched or "
            "holds no IPv6 address (written as in https://[2001:db8::1]/scim/v2)"
        ],
    ),
    (
        "url-port-not-a-number",
        {"a.yaml": "targets:\n  t:\n    url: 'https://scim.example.com:abc/v2'\n"},
        ["a.yaml:3:5: targets.t.url: the URL's port is not a number from 1 to 65535"],
    ),
    (
        "token-url-port-out-of-range",
        {
            "a.yaml": TARGET + "    auth: {type: oauth2_client_credentials, token_url: "
            "'https://idp.example:99999/t', client_id_env: A, client_secret_env: B}\n"
        },
        ["a.yaml:4:45: targets.t.auth.token_url: the URL's port is not a number from 1 to 65535"],
    ),
    (
        "auth-missing-token_env",
        {"a.yaml": TARGET + "    auth: {type: bearer}\n"},
        ["a.yaml:4:5: targets.t.auth: bearer auth needs 'token_env'"],
    ),
    (
        "auth-unknown-type",
        {"a.yaml": TARGET + "    auth: {type: saml}\n"},
        [
            "a.yaml:4:12: targets.t.auth.type: expected one of none, bearer, basic, "
            "oauth2_client_credentials, got 'saml'"
        ],
    ),
    (
        "token-written-in-spec",
        {"a.yaml": TARGET + "    auth: {type: bearer, token: s3cr3t-t0ken}\n"},
        [
            "a.yaml:4:5: targets.t.auth: bearer auth needs 'token_env'",
            "a.yaml:4:26: targets.t.auth.token: secrets are never written in specs "
            "(secrets come from environment variables: use token_env)",
        ],
    ),
    (
        "guard-out-of-range",
        {"a.yaml": TARGET + "    guards: {max_delete_percent: 150}\n"},
        [
            "a.yaml:4:14: targets.t.guards.max_delete_percent: "
            "expected a number from 0 to 100, got 150"
        ],
    ),
    (
        "more-than-one-primary",
        {
            "a.yaml": "users:\n  - userName: a@example.com\n    emails:\n"
            "      - {value: a@example.com, primary: true}\n"
            "      - {value: b@example.com, primary: true}\n"
        },
        ["a.yaml:3:5: users[0].emails: more than one element has primary: true"],
    ),
    (
        "groups-on-user-are-read-only",
        {"a.yaml": "users:\n  - userName: a@example.com\n    groups: [Eng]\n"},
        [
            "a.yaml:3:5: users[0].groups: a user's groups are read-only in SCIM; "
            "list the user under the group's members"
        ],
    ),
    (
        "id-on-group",
        {"a.yaml": "groups:\n  - displayName: Eng\n    id: '42'\n"},
        ["a.yaml:3:5: groups[0].id: id is assigned by the target"],
    ),
]
# YAML ends a line at each of these too; diff, grep and editors do not, so the key after one
# would be on a line no reviewer sees.
INVALID += [
    (
        f"hidden-line-break-{name}",
        {"a.yaml": f"users:\n  - userName: a@example.com\n    title: T{char}    state: absent\n"},
        [
            f"a.yaml:3:13: U+{ord(char):04X} is a line break to YAML but not to diff or grep "
            f"(only LF or CRLF may end a line); write {escape} inside a double-quoted string"
        ],
    )
    for name, char, escape in [
        ("cr", "\r", "\\r"),
        ("nel", "\x85", "\\N"),
        ("ls", "\u2028", "\\L"),
        ("ps", "\u2029", "\\P"),
    ]
]

# NaN passed `value <= 0`, and infinity any check: each broke the run as a bug, and a NaN
# run_timeout_seconds turned the run's deadline off. No spec value may be one (JSON has none).
INVALID += [
    (
        f"not-finite-{key}-{written}",
        {"a.yaml": TARGET + f"    {key}: {written}\n"},
        [
            f"a.yaml:4:{len(key) + 7}: targets.t.{key}: cannot read value: {written} is not a "
            "finite number (JSON, which targets read, has none)"
        ],
    )
    for key in ["timeout_seconds", "request_timeout_seconds", "run_timeout_seconds", "max_rps"]
    for written in [".nan", ".inf", "1.0e+400", "-.inf"]
]
INVALID += [
    (
        f"target-bound-too-large-{key}",
        {"a.yaml": TARGET + f"    {key}: {written}\n"},
        [
            f"a.yaml:4:5: targets.t.{key}: expected a number above 0 and at most {most}, "
            f"got {float(written):g}"
        ],
    )
    for key, written, most in [
        ("timeout_seconds", "604801", 604800),
        ("request_timeout_seconds", "1.0e+300", 604800),
        ("run_timeout_seconds", "1.0e+300", 604800),
        ("max_response_mib", "1.0e+308", 1048576),
    ]
]
# A value sent to a target: `NaN` in a request body is no JSON.
INVALID += [
    (
        f"not-finite-{where}",
        {"a.yaml": text},
        [
            f"{at}: cannot read value: .nan is not a finite number "
            "(JSON, which targets read, has none)"
        ],
    )
    for where, text, at in [
        (
            "extension-attribute",
            "targets:\n  t:\n    url: https://scim.example.com/v2\n"
            "    extensions: {acme: 'urn:example:acme:2.0:User'}\n"
            "users:\n  - userName: a@example.com\n    acme: {costCode: .nan}\n",
            "a.yaml:7:22: users[0].acme.costCode",
        ),
        (
            "custom-attribute",
            "users:\n  - userName: a@example.com\n    custom: {level: .nan}\n",
            "a.yaml:3:21: users[0].custom.level",
        ),
        (
            "guard-percent",
            TARGET + "    guards: {max_delete_percent: .nan}\n",
            "a.yaml:4:34: targets.t.guards.max_delete_percent",
        ),
    ]
]

# PyYAML's reader refuses these with an offset (in UTF-8 bytes) on a second line, at 1:1.
INVALID += [
    (
        f"unprintable-{name}",
        {"a.yaml": f"users:\n  - userName: a@example.com\n    title: Müller{char}\n"},
        [
            f"a.yaml:3:18: YAML syntax error: {kind} U+{ord(char):04X} is not allowed "
            "(write it as an escape in double quotes)"
        ],
    )
    for name, char, kind in [
        ("nul", "\x00", "control character"),
        ("esc", "\x1b", "control character"),
        ("c1", "\x80", "control character"),
        ("non-character", "\ufffe", "character"),
    ]
]


@pytest.mark.parametrize(("files", "expected"), [pytest.param(f, e, id=i) for i, f, e in INVALID])
def test_invalid_spec_reports_exact_issues(
    tmp_path: Path, files: Files, expected: list[str]
) -> None:
    assert spec_issues(tmp_path, files) == expected


def test_secret_values_never_appear_in_spec_errors(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": TARGET + "    auth: {type: bearer, token: s3cr3t-t0ken}\n"})
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert "s3cr3t-t0ken" not in str(info.value)


def test_all_errors_of_a_spec_are_reported_at_once(tmp_path: Path) -> None:
    files: Files = {
        "a.yaml": (
            "version: 1\n"
            "targets:\n"
            "  t:\n"
            "    url: http://scim.example.com/v2\n"
            "users:\n"
            "  - userName: alice@example.com\n"
            "    active: maybe\n"
            "usr: []\n"
        ),
        "b.yaml": "users:\n\t- userName: x\n",
        "c/d.yaml": (
            "users:\n"
            "  - userName: ALICE@example.com\n"
            "  - userName: bob@example.com\n"
            "    enterprise: {manager: zed@example.com}\n"
            "groups:\n"
            "  - displayName: Eng\n"
            "    members: [bob@example.com, carol@example.com]\n"
        ),
    }
    write_tree(tmp_path, files)
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    prefix = f"{tmp_path.as_posix()}/"
    lines = [
        "a.yaml:4:5: targets.t.url: https is required except for loopback addresses " + HTTP_HINT,
        "a.yaml:7:5: users[0].active: expected true or false, got a string",
        "a.yaml:8:1: usr: unknown top-level key 'usr' (did you mean 'users'?)",
        "b.yaml:2:1: YAML syntax error: found character that cannot start any token",
        "c/d.yaml:2:5: users[ALICE@example.com].userName: duplicate user: "
        "'alice@example.com' is already declared at a.yaml:6:5",
        "c/d.yaml:4:18: users[bob@example.com].enterprise.manager: "
        "manager 'zed@example.com' is not a declared user",
        "c/d.yaml:7:5: groups[Eng].members: member 'carol@example.com' is not a declared user",
    ]
    assert [str(i).replace(prefix, "") for i in info.value.issues] == lines
    # The exception's message is the same list, one issue per line.
    assert str(info.value).replace(prefix, "") == "\n".join(lines)


def test_lines_ended_by_crlf_are_read(tmp_path: Path) -> None:
    text = "users:\r\n  - userName: a@example.com\r\n    title: T\r\n"
    write_tree(tmp_path, {"a.yaml": text})
    assert load_spec(tmp_path) == load_spec(tmp_path, quick=False)
    [user] = load_spec(tmp_path).users
    assert user.attrs["title"] == "T"


def test_a_spec_error_shows_control_characters_as_escapes(tmp_path: Path) -> None:
    # The file's name, a key and a quoted value come from the spec tree: on a terminal an
    # ESC or a CR in them would erase or overwrite the error's own line.
    write_tree(
        tmp_path,
        {
            "a.yaml": 'users:\n  - userName: a@example.com\n    "titl\\e[2K\\r": x\n'
            '    enterprise: {manager: "b\\e]0;t\\a@x.io"}\n',
            "b\x1b]0;owned\x07\r.yaml": "users:\n- userName: ~\n",
        },
    )
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    text = str(info.value)
    assert not any(char in text for char in "\x1b\r\x07"), text
    assert "b\\x1b]0;owned\\x07\\r.yaml:2:3: users[0].userName: expected a string" in text
    assert "users[0].titl\\x1b[2K\\r: unknown user attribute" in text
    assert "manager 'b\\x1b]0;t\\x07@x.io' is not a declared user" in text


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    # "Billion laughs": 9 levels of 9 aliases would expand to 9**9 strings.
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    issues = spec_issues(tmp_path, {"a.yaml": "\n".join(lines) + "\n"})
    assert issues == ["a.yaml:1:1: too many YAML nodes (an alias that expands too far?)"]


# -- known bugs: the tests assert the correct behaviour ------------------------------------------


def test_recursive_alias_is_a_spec_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": "users: &loop [*loop]\n"})
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert len(info.value.issues) == 1
    assert "alias" in info.value.issues[0].message


@pytest.mark.parametrize(
    ("text", "col", "shown"),
    [
        pytest.param("users: !Ref x\n", 8, "!Ref", id="unknown-tag"),
        pytest.param("users: !!python/object:os.system x\n", 8, "python/object", id="python-tag"),
        pytest.param("version: !!int one\n", 10, "one", id="bad-explicit-int"),
    ],
)
def test_unsupported_yaml_tags_are_spec_errors(
    tmp_path: Path, text: str, col: int, shown: str
) -> None:
    write_tree(tmp_path, {"a.yaml": text})
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    [issue] = info.value.issues
    assert (issue.line, issue.col) == (1, col)
    assert shown in issue.message


@pytest.mark.parametrize(
    ("tagged", "message"),
    [
        ("!!bool maybe", "'maybe' is not a !!bool"),
        ("!!bool ''", "'' is not a !!bool"),
        ("!!int ''", "'' is not a !!int"),
        ("!!int '-'", "'-' is not a !!int"),
        ("!!float '_'", "'_' is not a !!float"),
        ("!!int", "'' is not a !!int"),
        ("!!timestamp x", "'x' is not a !!timestamp"),
    ],
)
@pytest.mark.parametrize("quick", [True, False])
def test_a_tagged_value_pyyaml_cannot_construct_is_a_spec_error(
    tmp_path: Path, tagged: str, message: str, quick: bool
) -> None:
    # PyYAML's constructors raised KeyError, IndexError or AttributeError on these: an
    # internal error, exit 3, where `!!int abc` was already a located spec error.
    write_tree(tmp_path, {"a.yaml": f"users:\n  - userName: a@example.com\n    title: {tagged}\n"})
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path, quick=quick)
    assert [str(i).replace(f"{tmp_path.as_posix()}/", "") for i in info.value.issues] == [
        f"a.yaml:3:12: users[0].title: cannot read value: {message}"
    ]


def test_boolean_version_is_refused(tmp_path: Path) -> None:
    assert spec_issues(tmp_path, {"a.yaml": "version: true\n"}) == [
        "a.yaml:1:1: version: unsupported spec version True (supported: 1)"
    ]


def test_password_written_in_spec_points_at_password_env(tmp_path: Path) -> None:
    files: Files = {
        "a.yaml": TARGET + "    auth: {type: basic, username_env: U, password_env: P, "
        "password: hunter22}\n"
    }
    assert spec_issues(tmp_path, files) == [
        "a.yaml:4:59: targets.t.auth.password: secrets are never written in specs "
        "(secrets come from environment variables: use password_env)"
    ]


def test_users_sharing_a_matched_display_name_are_refused(tmp_path: Path) -> None:
    files: Files = {
        "a.yaml": TARGET + "    matching: {user: [displayName]}\n"
        "users:\n  - userName: a@example.com\n    displayName: Sam\n"
        "  - userName: b@example.com\n    displayName: Sam\n"
    }
    assert spec_issues(tmp_path, files) == [
        "a.yaml:9:5: users[b@example.com].displayName: 'Sam' is also the displayName of "
        "'a@example.com'; target 't' matches on it"
    ]


@pytest.mark.parametrize(
    ("second", "shown"),
    [("E1 ", "E1 "), ("E1\u200b", "E1\\u200b"), ("\uff251", "\uff251"), ("e1", None)],
)
def test_matched_values_are_compared_as_matching_folds_them(
    tmp_path: Path, second: str, shown: str | None
) -> None:
    # Values that differ only by a trailing space, an invisible character or width match the
    # same target object (core/match.py normalise): every plan put both users in error.
    # externalId is compared with its case, as matching compares it.
    files: Files = {
        "a.yaml": TARGET + "    matching: {user: [userName, externalId]}\n"
        "users:\n  - userName: a@example.com\n    externalId: E1\n"
        f'  - userName: b@example.com\n    externalId: "{second}"\n'
    }
    if shown is None:
        write_tree(tmp_path, files)
        assert len(load_spec(tmp_path).users) == 2
        return
    assert spec_issues(tmp_path, files) == [
        f"a.yaml:9:5: users[b@example.com].externalId: '{shown}' is also the externalId of "
        "'a@example.com'; target 't' matches on it"
    ]


def test_what_is_clearly_not_a_spec_is_skipped(tmp_path: Path) -> None:
    workflow = "name: ci\non: push\njobs: {test: {runs-on: ubuntu-latest}}\n"
    write_tree(
        tmp_path,
        {
            "specs/targets.yaml": TARGET,
            ".github/workflows/ci.yml": workflow,
            ".venv/lib/site-packages/pkg/data.yaml": workflow,
            "venv/pyvenv.cfg": "home = /usr/bin\n",
            "venv/lib/site-packages/pkg/data.yaml": workflow,
            "node_modules/pkg/config.yml": workflow,
            "specs/.editor.yaml": workflow,
        },
    )
    spec = load_spec(tmp_path)
    assert spec.files == ((tmp_path / "specs" / "targets.yaml").as_posix(),)
    # A directory named on the command line is read whatever its name.
    hidden = tmp_path / ".scim"
    write_tree(hidden, {"targets.yaml": TARGET})
    assert load_spec(hidden).files == ((hidden / "targets.yaml").as_posix(),)


def test_a_block_nested_past_python_s_recursion_is_a_spec_error(tmp_path: Path) -> None:
    # libyaml composes up to 1,000 levels; building the value takes a Python call a level,
    # which ran out before (an internal error, exit 3) and now is reported on the file.
    levels = "".join(" " * (4 + i) + f"k{i}:\n" for i in range(700))
    (tmp_path / "p.yaml").write_text("users:\n- userName: a@x.io\n  x:\n" + levels)
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path)
    assert [(i.line, i.col, i.message) for i in caught.value.issues] == [
        (1, 1, "YAML nested too deeply")
    ]
