"""Entra mapping expressions against Microsoft's documented examples, plus errors and carets.

Row ids name the example in "Reference for writing expressions for attribute mappings in
Microsoft Entra ID" (`doc-…`), or say what the row pins down where the doc has no example.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from reconciler.expressions.evaluation import SKIP, evaluate
from reconciler.expressions.parser import MAX_NESTING, parse
from reconciler.expressions.syntax import (
    Attribute,
    Call,
    Compare,
    ExpressionError,
    Literal,
    Omitted,
    caret,
    line_col,
    references,
)

# The clock of the doc's DateDiff table ("8/25/2021 5:41:18 PM") and the doc's sample GUID.
NOW = datetime(2021, 8, 25, 17, 41, 18, tzinfo=UTC)
GUID = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
FIRST_LAST = {"PreferredFirstName": "John", "PreferredLastName": "Smith"}
UNIQUE_UPN = (
    'SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces(Join(".", '
    '[PreferredFirstName], [PreferredLastName]))), "contoso.com"),\n'
    '  Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 1), '
    '[PreferredLastName]))), "contoso.com"),\n'
    '  Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 2), '
    '[PreferredLastName]))), "contoso.com"))'
)
HIRE_SWITCH = (
    'Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, '
    '"False", "True"), "0", "False")'
)
PHONE = r'"\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})"'


def run(text: str, source: dict[str, Any] | None = None, now: datetime = NOW) -> Any:
    return evaluate(parse(text), source or {}, now, lambda: GUID)


# (id, expression, source, expected)
CASES: list[tuple[str, str, dict[str, Any], Any]] = [
    # Append
    (
        "Append/doc-append-constant-suffix-to-user-name",
        'Append([userPrincipalName], ".test")',
        {"userPrincipalName": "John.Doe@contoso.com"},
        "John.Doe@contoso.com.test",
    ),
    ("Append/missing-source-counts-as-empty", 'Append([upn], ".test")', {}, ".test"),
    ("Append/both-missing-stays-missing", "Append([a], [b])", {}, None),
    # AppRoleAssignmentsComplex: the roles the target's role map gives, in Entra's shape
    (
        "AppRoleAssignmentsComplex/doc-example-output-two-roles",
        "AppRoleAssignmentsComplex([appRoleAssignments])",
        {"appRoleAssignments": ["Admin", "User"]},
        [
            {
                "primary": False,
                "type": "WindowsAzureActiveDirectoryRole",
                "display": "Admin",
                "value": "Admin",
            },
            {
                "primary": False,
                "type": "WindowsAzureActiveDirectoryRole",
                "display": "User",
                "value": "User",
            },
        ],
    ),
    (
        "AppRoleAssignmentsComplex/no-role-is-an-empty-list",
        "AppRoleAssignmentsComplex([appRoleAssignments])",
        {"appRoleAssignments": []},
        [],
    ),
    # SingleAppRoleAssignment: the first role in the role map's order (the primary)
    (
        "SingleAppRoleAssignment/doc-single-role",
        "SingleAppRoleAssignment([appRoleAssignments])",
        {"appRoleAssignments": ["Admin"]},
        "Admin",
    ),
    (
        "SingleAppRoleAssignment/several-roles-the-first-wins",
        "SingleAppRoleAssignment([appRoleAssignments])",
        {"appRoleAssignments": ["admin", "member"]},
        "admin",
    ),
    (
        "SingleAppRoleAssignment/no-role-is-null",
        "SingleAppRoleAssignment([appRoleAssignments])",
        {"appRoleAssignments": []},
        None,
    ),
    (
        "SingleAppRoleAssignment/missing-is-null",
        "SingleAppRoleAssignment([appRoleAssignments])",
        {},
        None,
    ),
    # BitAnd
    ("BitAnd/doc-example-HF-and-HF7", "BitAnd(&HF, &HF7)", {}, 7),
    ("BitAnd/numeric-string-attribute", "BitAnd([uac], 2)", {"uac": "514"}, 2),
    ("BitAnd/missing-is-null", "BitAnd([uac], 2)", {}, None),
    # CBool
    (
        "CBool/doc-attributes-equal",
        "CBool([attribute1] = [attribute2])",
        {"attribute1": "x", "attribute2": "x"},
        True,
    ),
    (
        "CBool/doc-attributes-differ",
        "CBool([attribute1] = [attribute2])",
        {"attribute1": "x", "attribute2": "y"},
        False,
    ),
    ("CBool/non-zero-is-true", "CBool(5)", {}, True),
    ("CBool/zero-string-is-false", 'CBool("0")', {}, False),
    ("CBool/true-string", 'CBool("TRUE")', {}, True),
    ("CBool/missing-is-false", "CBool([flag])", {}, False),
    # CDate
    (
        "CDate/doc-example-1-StatusHireDate",
        "CDate([StatusHireDate])",
        {"StatusHireDate": "2020-03-16-07:00"},
        "3/16/2020 7:00:00 AM",
    ),
    ("CDate/doc-example-2-plus-08", 'CDate("2021-06-30+08:00")', {}, "6/29/2021 4:00:00 PM"),
    (
        "CDate/doc-example-3-with-time",
        'CDate("2009-06-15T01:45:30-07:00")',
        {},
        "6/15/2009 8:45:30 AM",
    ),
    ("CDate/no-offset-is-utc", 'CDate("2021-08-24")', {}, "8/24/2021 12:00:00 AM"),
    ("CDate/reads-its-own-output", 'CDate("8/25/2021 5:41:18 PM")', {}, "8/25/2021 5:41:18 PM"),
    ("CDate/missing-is-null", "CDate([hire])", {}, None),
    # Coalesce
    (
        "Coalesce/doc-flow-mail-else-userPrincipalName",
        "Coalesce([mail],[userPrincipalName])",
        {"mail": None, "userPrincipalName": "John.Doe@contoso.com"},
        "John.Doe@contoso.com",
    ),
    ("Coalesce/doc-default-value", 'Coalesce([mail], [upn], "none")', {}, "none"),
    ("Coalesce/doc-all-null-without-default", "Coalesce([mail], [upn])", {}, None),
    ("Coalesce/empty-string-is-a-value", 'Coalesce([mail], "x")', {"mail": ""}, ""),
    # ConvertToBase64, ConvertToUTF8Hex
    (
        "ConvertToBase64/doc-hello-world",
        'ConvertToBase64("Hello world!")',
        {},
        "SABlAGwAbABvACAAdwBvAHIAbABkACEA",
    ),
    (
        "ConvertToUTF8Hex/doc-hello-world",
        'ConvertToUTF8Hex("Hello world!")',
        {},
        "48656C6C6F20776F726C6421",
    ),
    ("ConvertToUTF8Hex/multibyte", 'ConvertToUTF8Hex("é")', {}, "C3A9"),
    # Count
    (
        "Count/doc-multi-valued-attribute",
        "Count([proxyAddresses])",
        {"proxyAddresses": ["smtp:a@contoso.com", "SMTP:b@contoso.com"]},
        2,
    ),
    ("Count/missing-is-zero", "Count([proxyAddresses])", {}, 0),
    ("Count/single-value-is-one", "Count([mail])", {"mail": "a@b.c"}, 1),
    # CStr
    ("CStr/doc-dn", "CStr([dn])", {"dn": "cn=Joe,dc=contoso,dc=com"}, "cn=Joe,dc=contoso,dc=com"),
    ("CStr/number", "CStr(5)", {}, "5"),
    ("CStr/boolean-as-dotnet-writes-it", "CStr([active])", {"active": True}, "True"),
    # DateAdd: the doc's table for DateAdd(interval, value, CDate([StatusHireDate]))
    (
        "DateAdd/doc-add-7-days-to-hire-date",
        'DateAdd("d", 7, CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        "3/23/2012 7:00:00 AM",
    ),
    (
        "DateAdd/doc-ten-days-before-hire-date",
        'DateAdd("d", -10, CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        "3/6/2012 7:00:00 AM",
    ),
    (
        "DateAdd/doc-add-two-weeks",
        'DateAdd("ww", 2, CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        "3/30/2012 7:00:00 AM",
    ),
    (
        "DateAdd/doc-add-ten-months",
        'DateAdd("m", 10, CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        "1/16/2013 7:00:00 AM",
    ),
    (
        "DateAdd/doc-add-two-years",
        'DateAdd("yyyy", 2, CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        "3/16/2014 7:00:00 AM",
    ),
    (
        "DateAdd/month-end-is-clamped-like-vb",
        'DateAdd("m", 1, CDate("2021-01-31"))',
        {},
        "2/28/2021 12:00:00 AM",
    ),
    (
        "DateAdd/hours-minutes-seconds",
        'DateAdd("s", 30, DateAdd("n", 1, DateAdd("h", 1, Now())))',
        {},
        "8/25/2021 6:42:48 PM",
    ),
    # DateDiff: the doc's table
    (
        "DateDiff/doc-positive-days",
        'DateDiff("d", CDate("2021-08-18+08:00"), CDate("2021-08-31+08:00"))',
        {},
        13,
    ),
    (
        "DateDiff/doc-negative-days",
        'DateDiff("d", Now(), CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        -3449,
    ),
    (
        "DateDiff/doc-weeks",
        'DateDiff("ww", Now(), CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        -493,
    ),
    (
        "DateDiff/doc-months",
        'DateDiff("m", Now(), CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        -113,
    ),
    (
        "DateDiff/doc-years",
        'DateDiff("yyyy", Now(), CDate([StatusHireDate]))',
        {"StatusHireDate": "2012-03-16-07:00"},
        -9,
    ),
    (
        "DateDiff/doc-same-dates",
        'DateDiff("d", CDate("2021-08-31+08:00"), CDate("2021-08-31+08:00"))',
        {},
        0,
    ),
    ("DateDiff/doc-hours", 'DateDiff("h", CDate("2021-08-24"), CDate("2021-08-25"))', {}, 24),
    ("DateDiff/doc-minutes", 'DateDiff("n", CDate("2021-08-24"), CDate("2021-08-25"))', {}, 1440),
    ("DateDiff/doc-seconds", 'DateDiff("s", CDate("2021-08-24"), CDate("2021-08-25"))', {}, 86400),
    (
        "DateDiff/doc-example-2-hire-within-five-days",
        HIRE_SWITCH,
        {"Active": "1", "StatusHireDate": "2021-08-28"},
        "True",
    ),
    (
        "DateDiff/doc-example-2-hire-later",
        HIRE_SWITCH,
        {"Active": "1", "StatusHireDate": "2021-09-30"},
        "False",
    ),
    ("DateDiff/doc-example-2-inactive", HIRE_SWITCH, {"Active": "0"}, "False"),
    ("DateDiff/doc-example-2-no-default", HIRE_SWITCH, {"Active": "2"}, None),
    # DateFromNum
    (
        "DateFromNum/doc-129699324000000000",
        "DateFromNum(129699324000000000)",
        {},
        "1/1/2012 11:00:00 PM",
    ),
    (
        "DateFromNum/doc-lastLogonTimestamp",
        "DateFromNum([lastLogonTimestamp])",
        {"lastLogonTimestamp": "129699324000000000"},
        "1/1/2012 11:00:00 PM",
    ),
    # FormatDateTime
    (
        "FormatDateTime/doc-servicenow-date",
        'FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")',
        {"extensionAttribute1": "20150123105347.1Z"},
        "2015-01-23",
    ),
    (
        "FormatDateTime/successfactors-format",
        'FormatDateTime([endDate], , "M/d/yyyy hh:mm:ss tt", "yyyy-MM-dd HH:mm")',
        {"endDate": "12/31/2020 01:30:00 PM"},
        "2020-12-31 13:30",
    ),
    (
        "FormatDateTime/names-and-quoted-literals",
        """FormatDateTime([d], , "yyyy-MM-dd", "dddd d MMMM yyyy 'at' h tt")""",
        {"d": "2021-08-25"},
        "Wednesday 25 August 2021 at 12 AM",
    ),
    (
        "FormatDateTime/offset-is-converted-to-utc",
        'FormatDateTime([d], , "yyyy-MM-ddzzz", "yyyy-MM-dd HH:mm")',
        {"d": "2021-06-30+08:00"},
        "2021-06-29 16:00",
    ),
    ("FormatDateTime/missing-is-null", 'FormatDateTime([d], , "yyyy", "yy")', {}, None),
    # Guid
    ("Guid/doc-new-guid", "Guid()", {}, GUID),
    # IgnoreFlowIfNullOrEmpty
    (
        "IgnoreFlowIfNullOrEmpty/doc-example-1-null-department",
        "IgnoreFlowIfNullOrEmpty([department])",
        {},
        SKIP,
    ),
    (
        "IgnoreFlowIfNullOrEmpty/doc-example-1-empty-department",
        "IgnoreFlowIfNullOrEmpty([department])",
        {"department": ""},
        SKIP,
    ),
    (
        "IgnoreFlowIfNullOrEmpty/doc-example-1-flows-a-value",
        "IgnoreFlowIfNullOrEmpty([department])",
        {"department": "Sales"},
        "Sales",
    ),
    (
        "IgnoreFlowIfNullOrEmpty/doc-example-2-switch-match",
        'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", '
        '"3445", "Prof. Dr."))',
        {"prefix": "3444"},
        "Prof.",
    ),
    (
        "IgnoreFlowIfNullOrEmpty/doc-example-2-no-match-is-dropped",
        'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", '
        '"3445", "Prof. Dr."))',
        {"prefix": "9999"},
        SKIP,
    ),
    (
        "IgnoreFlowIfNullOrEmpty/nested-drops-the-whole-mapping",
        'Join(" ", IgnoreFlowIfNullOrEmpty([a]), "x")',
        {},
        SKIP,
    ),
    # IIF
    (
        "IIF/doc-country-usa",
        'IIF([country]="USA",[country],[department])',
        {"country": "USA", "department": "Sales"},
        "USA",
    ),
    (
        "IIF/doc-country-other",
        'IIF([country]="USA",[country],[department])',
        {"country": "FR", "department": "Sales"},
        "Sales",
    ),
    (
        "IIF/doc-and-logic",
        'IIF([country]="USA",IIF([state]="CA","True","False"),"False")',
        {"country": "USA", "state": "CA"},
        "True",
    ),
    (
        "IIF/doc-and-logic-false",
        'IIF([country]="USA",IIF([state]="CA","True","False"),"False")',
        {"country": "USA", "state": "NY"},
        "False",
    ),
    (
        "IIF/doc-or-logic",
        'IIF([country]="USA","True",IIF([state]="CA","True","False"))',
        {"country": "FR", "state": "CA"},
        "True",
    ),
    ("IIF/doc-null-attribute-fails-the-condition", 'IIF([country]="USA","yes","no")', {}, "no"),
    ("IIF/doc-not-equal", 'IIF([country]<>"USA","abroad","home")', {"country": "FR"}, "abroad"),
    ("IIF/numbers-compare-as-numbers", 'IIF([n] >= 10, "big", "small")', {"n": "9"}, "small"),
    ("IIF/strings-compare-case-sensitively", 'IIF([c]="usa","y","n")', {"c": "USA"}, "n"),
    ("IIF/only-the-branch-taken-is-evaluated", 'IIF("True", "ok", CDate("not a date"))', {}, "ok"),
    # InStr
    ("InStr/doc-quick-brown-fox", 'InStr("The quick brown fox","quick")', {}, 5),
    ("InStr/doc-repEated-binary-compare", 'InStr("repEated","e",3,vbBinaryCompare)', {}, 7),
    ("InStr/text-compare-ignores-case", 'InStr("repEated","e",3,vbTextCompare)', {}, 4),
    ("InStr/not-found", 'InStr("abc","z")', {}, 0),
    ("InStr/null-string-is-zero", 'InStr([x],"z")', {}, 0),
    # IsNull, IsNullOrEmpty, IsPresent, IsString
    ("IsNull/doc-absent-displayName", "IsNull([displayName])", {}, True),
    ("IsNull/doc-present-displayName", "IsNull([displayName])", {"displayName": "A"}, False),
    ("IsNull/empty-string-is-not-null", "IsNull([displayName])", {"displayName": ""}, False),
    ("IsNullOrEmpty/doc-absent", "IsNullOrEmpty([displayName])", {}, True),
    ("IsNullOrEmpty/doc-empty-string", "IsNullOrEmpty([displayName])", {"displayName": ""}, True),
    ("IsNullOrEmpty/doc-present", "IsNullOrEmpty([displayName])", {"displayName": "A"}, False),
    ("IsPresent/present", "IsPresent([x])", {"x": "a"}, True),
    ("IsPresent/empty", "IsPresent([x])", {"x": ""}, False),
    (
        "IsPresent/doc-managers-switch-direct-manager-only",
        "Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),"
        "[skiplevelManager], IsPresent([director]),[director])",
        {"directManager": "bob"},
        "bob",
    ),
    ("IsString/string", "IsString([x])", {"x": "a"}, True),
    ("IsString/empty-string", "IsString([x])", {"x": ""}, True),
    ("IsString/number", "IsString([x])", {"x": 5}, False),
    ("IsString/missing", "IsString([x])", {}, False),
    # Item
    (
        "Item/doc-first-proxy-address",
        "Item([proxyAddresses], 1)",
        {"proxyAddresses": ["SMTP:a@contoso.com", "smtp:b@contoso.com"]},
        "SMTP:a@contoso.com",
    ),
    ("Item/second", "Item([proxyAddresses], 2)", {"proxyAddresses": ["a", "b"]}, "b"),
    ("Item/past-the-end-is-null", "Item([proxyAddresses], 3)", {"proxyAddresses": ["a"]}, None),
    # Join
    (
        "Join/doc-comma-between-last-and-first-name",
        'Join(", ", "", [surname], [givenName])',
        {"givenName": "John", "surname": "Doe"},
        "Doe, John",
    ),
    (
        "Join/doc-multi-valued-source-joins-every-value",
        'Join(";", [proxyAddresses], [mail])',
        {"proxyAddresses": ["a", "b"], "mail": "c"},
        "a;b;c",
    ),
    (
        "Join/missing-sources-are-skipped",
        'Join(" ", [givenName], [middleName], [familyName])',
        {"givenName": "Ann", "familyName": "Lee"},
        "Ann Lee",
    ),
    ("Join/nothing-to-join-is-null", 'Join(" ", [a], [b])', {}, None),
    ("Join/doc-numbers", 'Join("", 1000, "7")', {}, "10007"),
    # Left
    ("Left/doc-john-doe-3", 'Left("John Doe", 3)', {}, "Joh"),
    ("Left/doc-zero-is-empty", 'Left("John Doe", 0)', {}, ""),
    ("Left/doc-negative-is-input", 'Left("John Doe", -1)', {}, "John Doe"),
    ("Left/doc-null-is-empty", "Left([x], 3)", {}, ""),
    ("Left/doc-fewer-characters", 'Left("Jo", 3)', {}, "Jo"),
    # Mid
    (
        "Mid/doc-generate-user-alias",
        "Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))",
        {"givenName": "John", "surname": "Doe"},
        "JohDoe",
    ),
    ("Mid/doc-length-past-the-end", 'Mid("John", 3, 10)', {}, "hn"),
    # NormalizeDiacritics (the doc's table, a row per replacement kind)
    (
        "NormalizeDiacritics/doc-remove-diacritics-Zoe",
        "NormalizeDiacritics([givenName])",
        {"givenName": "Zoë"},
        "Zoe",
    ),
    (
        "NormalizeDiacritics/doc-table-a",
        'NormalizeDiacritics("ä à â ã å á ą ă ā ā́ ǟ ǡ a̱ å̄")',
        {},
        "a a a a a a a a a a a a a a",
    ),
    ("NormalizeDiacritics/doc-table-AE-ae", 'NormalizeDiacritics("Æ Ǣ æ ǣ")', {}, "AE AE ae ae"),
    (
        "NormalizeDiacritics/doc-table-OE-oe",
        'NormalizeDiacritics("Ø Ø̄ Œ̄ ø ø̄ œ̄")',
        {},
        "OE OE OE oe oe oe",
    ),
    ("NormalizeDiacritics/doc-table-ss-l-i", 'NormalizeDiacritics("ß ł Ł ı İ")', {}, "ss l L i I"),  # noqa: RUF001 - the dotless i is the point
    (
        "NormalizeDiacritics/doc-table-consonants",
        'NormalizeDiacritics("ç ď ğ ñ ř š ť ž ẕ")',
        {},
        "c d g n r s t z z",
    ),
    (
        "NormalizeDiacritics/other-scripts-untouched",
        'NormalizeDiacritics("हिन्दी ガ")',
        {},
        "हिन्दी ガ",
    ),
    # Only Latin letters lose their marks: й is a letter of its own, not an accented и.
    ("NormalizeDiacritics/cyrillic-kept", 'NormalizeDiacritics("Юрий Ёлкин")', {}, "Юрий Ёлкин"),
    ("NormalizeDiacritics/greek-kept", 'NormalizeDiacritics("Ἀθηνᾶ ά")', {}, "Ἀθηνᾶ ά"),
    ("NormalizeDiacritics/mixed-scripts", 'NormalizeDiacritics("Zoë Йо")', {}, "Zoe Йо"),
    # Not
    ("Not/doc-true-is-false", 'Not("True")', {}, False),
    ("Not/doc-false-is-true", "Not([flag])", {"flag": False}, True),
    ("Not/doc-anything-else-is-true", 'Not("maybe")', {}, True),
    # Now (the doc's own example is test_now_doc_example)
    ("Now/reads-the-injected-clock", "Now()", {}, "8/25/2021 5:41:18 PM"),
    # NumFromDate: both doc examples give 2021-01-01T07:59:59Z as AD ticks
    (
        "NumFromDate/doc-workday-ContractEndDate",
        'NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), '
        '" 23:59:59-08:00"))',
        {"ContractEndDate": "2020-12-31-08:00"},
        132539615990000000,
    ),
    (
        "NumFromDate/doc-successfactors-endDate",
        'NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd"),'
        '" 23:59:59-08:00"))',
        {"endDate": "12/31/2020 12:00:00 AM"},
        132539615990000000,
    ),
    (
        "NumFromDate/round-trips-DateFromNum",
        "NumFromDate(DateFromNum(129699324000000000))",
        {},
        129699324000000000,
    ),
    # PCase (Microsoft's name for ToTitle)
    (
        "PCase/doc-firstName-default-separators",
        "PCase([firstName])",
        {"firstName": "PABLO GONSALVES (SECOND)"},
        "Pablo Gonsalves (Second)",
    ),
    (
        "PCase/doc-lastName-custom-separators",
        'PCase([lastName]," \'-")',
        {"lastName": "PINTO-DE'SILVA"},
        "Pinto-De'Silva",
    ),
    (
        "PCase/doc-nested-join",
        'PCase(Join(" ",[firstName],[lastName]))',
        {"firstName": "GREGORY", "lastName": "JAMES"},
        "Gregory James",
    ),
    # RemoveDuplicates
    (
        "RemoveDuplicates/doc-proxyAddresses",
        "RemoveDuplicates([proxyAddresses])",
        {"proxyAddresses": ["a", "b", "a", "c", "b"]},
        ["a", "b", "c"],
    ),
    # Replace: every documented argument form
    (
        "Replace/doc-example-1-oldValue-replacementValue",
        'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )',
        {"BusinessTitle": "Product Developer"},
        "Software Engineer",
    ),
    (
        "Replace/doc-example-2-oldValue-template",
        'Replace([UserID],"<username>", , , , , "<username>@contoso.com")',
        {"UserID": "jsmith"},
        "jsmith@contoso.com",
    ),
    (
        "Replace/doc-example-3-regex-group-reference",
        f'Replace([telephoneNumber], , {PHONE}, , "${{phoneNumber}}", , )',
        {"telephoneNumber": "+91 9998887777"},
        "9998887777",
    ),
    # The doc's sample output, 19998887777, also drops the "+", which "[()\\s-]+" does not match.
    (
        "Replace/doc-example-3-collapse-mobile",
        r'Replace([mobile], , "[()\\s-]+", , "", , )',
        {"mobile": "+1 (999) 888-7777"},
        "+19998887777",
    ),
    (
        "Replace/doc-example-4-street-number",
        r'Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )',
        {"AddressLineData": "545 Tremont Street"},
        "888 Tremont Street",
    ),
    (
        "Replace/doc-example-4-strip-upn-suffix",
        'Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )',
        {"userPrincipalName": "jsmith@contoso.com"},
        "jsmith",
    ),
    (
        "Replace/doc-example-5-fallback-to-mobile",
        f'Replace([telephoneNumber], , {PHONE}, "phoneNumber" , , [mobile], )',
        {"telephoneNumber": "", "mobile": "+91 8887779999"},
        "8887779999",
    ),
    (
        "Replace/doc-example-5-source-has-a-value",
        f'Replace([telephoneNumber], , {PHONE}, "phoneNumber" , , [mobile], )',
        {"telephoneNumber": "+1 5550100", "mobile": "+91 8887779999"},
        "+1 5550100",
    ),
    (
        "Replace/doc-example-6-remove-letters",
        'Replace([mailNickname], , "[a-zA-Z_]*", , "", , )',
        {"mailNickname": "john_doe72"},
        "72",
    ),
    (
        "Replace/doc-strip-known-domain-name",
        'Replace([mail], "@contoso.com", , ,"", ,)',
        {"mail": "john.doe@contoso.com"},
        "john.doe",
    ),
    # The doc's sample output for this example does not correspond to its sample input
    # (it starts 1000643035…, while "00aa…" is 3030616130…); this is the value for the input.
    (
        "Replace/doc-generate-id-from-object-id",
        'Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))',
        {"objectId": GUID},
        "100030306161303061612626231312636332322646433332343465653434656534346565",
    ),
    ("Replace/case-sensitive", 'Replace([x], "a", , , "b", , )', {"x": "Aa"}, "Ab"),
    ("Replace/missing-source-is-null", 'Replace([x], "a", , , "b", , )', {}, None),
    (
        "Replace/dotnet-dollar-escape",
        'Replace([x], , "(\\\\d+)", , "$$$1", , )',
        {"x": "ab12"},
        "ab$12",
    ),
    # SelectUniqueValue: without a uniqueness oracle, the first non-empty candidate
    ("SelectUniqueValue/doc-upn-first-candidate", UNIQUE_UPN, FIRST_LAST, "John.Smith@contoso.com"),
    # Split
    (
        "Split/doc-permission-sets",
        'Split([extensionAttribute5], ",")',
        {"extensionAttribute5": "PermissionSetOne, PermissionSetTwo"},
        ["PermissionSetOne", "PermissionSetTwo"],
    ),
    ("Split/missing-is-null", 'Split([x], ",")', {}, None),
    # StripSpaces
    ("StripSpaces/doc-removes-space-characters", "StripSpaces([x])", {"x": " a b  c "}, "abc"),
    # Switch
    (
        "Switch/doc-time-zone-QLD",
        'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane",'
        ' "SA", "Australia/Adelaide")',
        {"state": "QLD"},
        "Australia/Brisbane",
    ),
    (
        "Switch/doc-time-zone-default",
        'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane",'
        ' "SA", "Australia/Adelaide")',
        {"state": "WA"},
        "Australia/Sydney",
    ),
    (
        "Switch/doc-note-case-sensitive",
        'Switch([statusFlag], "x", "true", "1")',
        {"statusFlag": "TRUE"},
        "x",
    ),
    (
        "Switch/doc-note-ToLower-first",
        'Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")',
        {"statusFlag": "TRUE"},
        "1",
    ),
    (
        "Switch/doc-caution-empty-key-for-empty-source",
        'Switch([statusFlag], "Default Value", "true", "1", "", "0")',
        {"statusFlag": ""},
        "0",
    ),
    (
        "Switch/doc-caution-empty-key-for-missing-source",
        'Switch([statusFlag], "Default Value", "true", "1", "", "0")',
        {},
        "0",
    ),
    ("Switch/doc-iif-workaround-other", 'Switch([country],[country],"","Other")', {}, "Other"),
    (
        "Switch/doc-iif-workaround-present",
        'Switch([country],[country],"","Other")',
        {"country": "NZ"},
        "NZ",
    ),
    (
        "Switch/doc-resolution-nested-iif",
        'IIF([companyName] = "Company A", "A", IIF([companyName] = "Company B", "B", "External"))',
        {"companyName": "Company B"},
        "B",
    ),
    # ToLower, ToUpper, ToTitle
    (
        "ToLower/doc-generated-upn",
        'ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], '
        '[PreferredLastName]))), "contoso.com"))',
        FIRST_LAST,
        "john.smith@contoso.com",
    ),
    ("ToLower/culture-tr-TR", 'ToLower("ISTANBUL", "tr-TR")', {}, "\u0131stanbul"),
    ("ToLower/missing-is-null", "ToLower([x])", {}, None),
    ("ToUpper/invariant-keeps-sharp-s", 'ToUpper("straße")', {}, "STRAßE"),
    ("ToUpper/culture-tr-TR", 'ToUpper("istanbul", "tr-TR")', {}, "İSTANBUL"),
    ("ToTitle/like-PCase", 'ToTitle("JOHN o\'NEIL-SMITH")', {}, "John O'Neil-Smith"),
    # Word
    ("Word/doc-third-word", 'Word("The quick brown fox",3," ")', {}, "brown"),
    ("Word/doc-many-separators", 'Word("This,string!has&many separators",3,",!&#")', {}, "has"),
    ("Word/doc-number-below-1-is-empty", 'Word("a b", 0, " ")', {}, ""),
    ("Word/doc-too-few-words-is-empty", 'Word("a b", 3, " ")', {}, ""),
    ("Word/doc-null-is-empty", 'Word([x], 1, " ")', {}, ""),
    # Syntax: escapes, attributes with dots, numbers
    (
        "syntax/doc-escaped-quotes",
        r'Append("Company name: \"Contoso\"", "")',
        {},
        'Company name: "Contoso"',
    ),
    ("syntax/escaped-backslash", r'Append("a\\b", "")', {}, "a\\b"),
    (
        "syntax/dotted-attribute-flat-key",
        "ToUpper([enterprise.department])",
        {"enterprise.department": "Sales"},
        "SALES",
    ),
    (
        "syntax/dotted-attribute-nested",
        "ToUpper([enterprise.department])",
        {"enterprise": {"department": "Sales"}},
        "SALES",
    ),
    ("syntax/bare-attribute", "[mail]", {"mail": "a@b.c"}, "a@b.c"),
    ("syntax/bare-constant", '"United States"', {}, "United States"),
    ("syntax/multi-line", 'Join(" ",\n  [a],\n  [b])', {"a": "x", "b": "y"}, "x y"),
]


@pytest.mark.parametrize(
    ("expression", "source", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_documented_behaviour(expression: str, source: dict[str, Any], expected: Any) -> None:
    assert run(expression, source) == expected


def test_every_function_has_a_row() -> None:
    from reconciler.expressions.functions import FUNCTIONS

    covered = {case[0].split("/")[0] for case in CASES}
    assert set(FUNCTIONS) - covered == set()


def test_now_doc_example() -> None:
    assert run("Now()", now=datetime(2021, 7, 2, 15, 33, 38, tzinfo=UTC)) == "7/2/2021 3:33:38 PM"


def test_now_converts_an_aware_clock_to_utc_and_takes_naive_as_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert run("Now()", now=datetime(2021, 7, 2, 17, 33, 38, tzinfo=plus_two)) == (
        "7/2/2021 3:33:38 PM"
    )
    assert run("Now()", now=datetime(2021, 7, 2, 15, 33, 38)) == "7/2/2021 3:33:38 PM"


@pytest.mark.parametrize(
    ("taken", "expected"),
    [
        (set(), "John.Smith@contoso.com"),
        ({"John.Smith@contoso.com"}, "J.Smith@contoso.com"),
        ({"John.Smith@contoso.com", "J.Smith@contoso.com"}, "Jo.Smith@contoso.com"),
    ],
    ids=["doc-upn-free", "doc-upn-taken", "doc-upn-and-initial-taken"],
)
def test_select_unique_value_doc_example(taken: set[str], expected: str) -> None:
    result = evaluate(
        parse(UNIQUE_UPN), FIRST_LAST, NOW, lambda: GUID, is_unique=lambda v: v not in taken
    )
    assert result == expected


def test_select_unique_value_all_taken_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="every candidate is already taken") as raised:
        evaluate(parse(UNIQUE_UPN), FIRST_LAST, NOW, lambda: GUID, is_unique=lambda _: False)
    assert raised.value.offset == 0


def test_guid_asks_the_injected_source_each_time() -> None:
    guids = iter(["g1", "g2"])
    expr = parse('Join(",", Guid(), Guid())')
    assert evaluate(expr, {}, NOW, lambda: next(guids)) == "g1,g2"


def test_parse_tree() -> None:
    assert parse('Switch([a], , "k", 1)') == Call(
        "Switch", (Attribute("a", 7), Omitted(12), Literal("k", 14), Literal(1, 19)), 0
    )
    assert parse('IIF([c]<>"x", "y", "z")') == Call(
        "IIF",
        (Compare("<>", Attribute("c", 4), Literal("x", 9), 7), Literal("y", 14), Literal("z", 19)),
        0,
    )
    instr = parse("InStr([a], [b], 1, vbTextCompare)")
    assert isinstance(instr, Call)
    assert instr.args[3] == Literal(1, 19)


def test_references() -> None:
    expr = parse('Join(" ", [givenName], IIF([enterprise.department]="Sales", [title], "x"))')
    assert references(expr) == {"givenName", "enterprise.department", "title"}
    assert references(parse('"constant"')) == set()


# (id, expression, offset, message fragment)
ERRORS: list[tuple[str, str, int, str]] = [
    ("empty", "", 0, "the expression is empty"),
    ("blank", "   ", 0, "the expression is empty"),
    ("unknown-function", "Foo([x])", 0, "unknown function 'Foo'"),
    ("unknown-function-suggestion", "ToLowr([x])", 0, "did you mean 'ToLower'?"),
    ("function-names-are-case-sensitive", "tolower([x])", 0, "case-sensitive, write 'ToLower'"),
    ("too-few-arguments", "Left([x])", 0, "Left takes exactly 2 arguments, got 1: Left(String,"),
    ("too-many-arguments", 'ToLower([x], "en-US", "y")', 0, "ToLower takes 1 to 2 arguments"),
    ("no-arguments-allowed", "Guid(1)", 0, "Guid takes exactly 0 arguments, got 1"),
    ("variadic-minimum", "SelectUniqueValue([a])", 0, "takes at least 2 arguments"),
    ("switch-odd-count", 'Switch([x], "d", "k", "v", "k2")', 0, "even count"),
    ("required-argument-left-empty", "Left(, 3)", 5, "argument 1 (String) cannot be left empty"),
    ("unterminated-string", 'Append([x], "abc', 12, 'this string has no closing "'),
    ("unterminated-attribute", "ToLower([x", 8, "has no closing ]"),
    ("empty-attribute", "ToLower([ ])", 8, "empty attribute name"),
    ("attribute-closed-too-late", 'Join(" ", [a, [b])', 10, "has no closing ]"),
    ("unclosed-call", "ToLower([x]", 11, "ToLower( is never closed"),
    ("trailing-garbage", "ToLower([x]) x", 13, "unexpected 'x' after the expression"),
    ("missing-comma", 'Join(" " [x])', 9, "expected , or ) in the arguments of Join"),
    ("bare-word", 'Join(" ", foo)', 10, "'foo' is neither a function call"),
    ("bad-operand", "ToLower(*)", 8, "expected a function call, an [attribute]"),
    # str.isdigit takes a superscript two, which int() refuses: not a number literal.
    ("superscript-digit", "Left([x], \u00b2)", 10, "expected a function call, an [attribute]"),
    ("hex-without-digits", "BitAnd(&H, 1)", 9, "expected hexadecimal digits"),
    ("replace-both-forms", 'Replace([x], "a", "b", , "c", , )', 0, "not both"),
    ("replace-no-replacement", 'Replace([x], "a", , , , , )', 0, "replacementValue or template"),
    ("replace-bad-regex", 'Replace([x], , "(", , "", , )', 15, "invalid regular expression"),
    ("replace-unknown-group", 'Replace([x], , "(?<a>x)", "b", "", , )', 26, "no group named 'b'"),
    ("dateadd-bad-interval", 'DateAdd("q", 1, Now())', 8, "interval must be one of"),
    ("item-index-zero", "Item([proxyAddresses], 0)", 23, "index starts at 1"),
    ("mid-start-zero", "Mid([x], 0, 1)", 9, "start must be 1 or more"),
    ("random-string", "RandomString(6,3,0,0,3)", 0, "RandomString is not supported"),
    (
        "select-unique-value-nested",
        "ToLower(SelectUniqueValue([a], [b]))",
        8,
        "SelectUniqueValue must be the outermost function",
    ),
    ("nested-call-error-points-inside", 'Append([x], Foo("y"))', 12, "unknown function 'Foo'"),
]


@pytest.mark.parametrize(
    ("text", "offset", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_parse_errors(text: str, offset: int, message: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse(text)
    assert message in raised.value.message
    assert raised.value.offset == offset
    assert str(raised.value) == raised.value.message


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 300, 5000])
def test_nesting_deeper_than_the_limit_is_an_error_at_the_call_past_it(depth: int) -> None:
    # Unbounded, a few hundred levels ended in RecursionError (exit 3), not a spec error.
    text = "ToLower(" * depth + "[userName]" + ")" * depth
    with pytest.raises(ExpressionError) as raised:
        parse(text)
    assert raised.value.message == (
        f"expression nested too deeply: more than {MAX_NESTING} function calls inside one another"
    )
    assert raised.value.offset == len("ToLower(") * MAX_NESTING


def test_nesting_up_to_the_limit_evaluates() -> None:
    text = "ToUpper(" * MAX_NESTING + "[userName]" + ")" * MAX_NESTING
    assert evaluate(parse(text), {"userName": "ab"}, NOW, lambda: GUID) == "AB"


# (id, expression, source, offset, message fragment)
RUNTIME_ERRORS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("cbool-not-a-boolean", 'CBool("abc")', {}, 0, "CBool: cannot convert 'abc' to a Boolean"),
    ("cdate-not-a-date", "CDate([d])", {"d": "soon"}, 0, "CDate: cannot read 'soon' as a date"),
    (
        "multi-valued-where-one-value-is-needed",
        "ToLower([emails])",
        {"emails": ["a", "b"]},
        0,
        "expects a single value, got a multi-valued attribute with 2 values",
    ),
    ("nested-error-points-at-the-inner-call", 'Append("x", CDate([d]))', {"d": "x"}, 12, "CDate"),
    (
        "role-function-on-something-else",
        "SingleAppRoleAssignment([roles])",
        {"roles": [{"value": "admin"}]},
        0,
        "SingleAppRoleAssignment: expects [appRoleAssignments] (role names)",
    ),
    (
        "format-mismatch",
        'FormatDateTime([d], , "yyyy-MM-dd", "yyyy")',
        {"d": "2021/01/01"},
        0,
        "does not match the input format",
    ),
    ("bad-interval-at-run-time", "DateAdd([i], 1, Now())", {"i": "q"}, 0, "interval must be"),
    ("comparison-of-a-bad-date", 'IIF(Now() > "never", "a", "b")', {}, 10, "cannot read 'never'"),
]


@pytest.mark.parametrize(
    ("text", "source", "offset", "message"),
    [e[1:] for e in RUNTIME_ERRORS],
    ids=[e[0] for e in RUNTIME_ERRORS],
)
def test_evaluation_errors(text: str, source: dict[str, Any], offset: int, message: str) -> None:
    expr = parse(text)
    with pytest.raises(ExpressionError) as raised:
        evaluate(expr, source, NOW, lambda: GUID)
    assert message in raised.value.message
    assert raised.value.offset == offset


def test_caret_under_the_offset() -> None:
    text = "ToLower([x]"
    with pytest.raises(ExpressionError) as raised:
        parse(text)
    assert caret(text, raised.value.offset) == "ToLower([x]\n           ^"
    assert caret("Foo()", 0) == "Foo()\n^"


def test_caret_and_line_col_in_a_multi_line_expression() -> None:
    text = 'Join("@",\n\t[a],\n\tFoo([b]))'
    with pytest.raises(ExpressionError) as raised:
        parse(text)
    assert line_col(text, raised.value.offset) == (3, 2)
    assert caret(text, raised.value.offset) == "\tFoo([b]))\n\t^"


def test_skip_is_a_sentinel() -> None:
    assert repr(SKIP) == "SKIP"
    assert SKIP is run("IgnoreFlowIfNullOrEmpty([x])")


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        ("<$&>", "ab<12>cd"),
        ("<$`>", "ab<ab>cd"),
        ("<$'>", "ab<cd>cd"),
        ("<$_>", "ab<ab12cd>cd"),
        ("<$+>", "ab<2>cd"),
        ("<$1|${d}>", "ab<1|2>cd"),
        ("<${nope}|$9>", "ab<${nope}|$9>cd"),
        ("<$$>", "ab<$>cd"),
    ],
)
def test_dotnet_substitutions(replacement: str, expected: str) -> None:
    expr = f'Replace([x], , "(\\\\d)(?<d>\\\\d)", , "{replacement}", , )'
    assert run(expr, {"x": "ab12cd"}) == expected


@pytest.mark.parametrize(
    ("value", "in_format", "out_format", "expected"),
    [
        (
            "2021-08-25 17:41:18.1234567",
            "yyyy-MM-dd HH:mm:ss.fffffff",
            "fff|FFFFFFF",
            "123|1234567",
        ),
        ("2021-08-25 17:41:18.5", "yyyy-MM-dd HH:mm:ss.F", "%F|ff|FF", "5|50|5"),
        ("25 Aug 21", "dd MMM yy", r"yyyy-MM-dd\THH", "2021-08-25T00"),
        ("Wed, 25 August 1999", "ddd, d MMMM yyyy", "%d/%M/%y ddd", "25/8/99 Wed"),
        ("5:07 p", "h:mm t", "HH:mm t", "17:07 P"),
        ("08-25", "MM-dd", "yyyy-MM-dd", "2021-08-25"),  # the year the format lacks is today's
        (
            "2021-08-25T17:41:18Z",
            "yyyy-MM-ddTHH:mm:ssK",
            "yyyy-MM-dd HH:mm K zzz",
            "2021-08-25 17:41 Z +00:00",
        ),
    ],
)
def test_dotnet_date_formats(value: str, in_format: str, out_format: str, expected: str) -> None:
    expr = f'FormatDateTime([v], , "{in_format}", "{out_format}")'
    assert run(expr, {"v": value}) == expected


def test_the_calendar_agrees_with_python_datetime() -> None:
    from reconciler.expressions.dotnet_dates import Moment, format_moment

    day = datetime(1, 1, 1, 13, 5, 9, tzinfo=UTC)
    while day.year < 9999:
        moment = Moment.from_clock(day)
        expected = f"{day.isoformat(sep=' ')[:19]} {day.strftime('%A')}"
        assert format_moment(moment, "yyyy-MM-dd HH:mm:ss dddd") == expected
        assert Moment.from_clock(day + timedelta(days=1)).ticks - moment.ticks == 864_000_000_000
        day += timedelta(days=997)
