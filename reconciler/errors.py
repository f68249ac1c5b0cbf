"""The one exception tree of scimrec; every user-facing failure is one of these."""

from __future__ import annotations

from dataclasses import dataclass


class ScimrecError(Exception):
    """Base of every error that is the user's or the target's doing, not a bug.

    The CLI prints `str(error)` on one line and exits 1; anything else is a bug (exit 3).
    """


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file, located as `file:line:col`."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        # The file's name, the keys and the values quoted all come from the spec tree (a pull
        # request): a control character in any would move the cursor of the terminal that
        # shows the error. A message's own lines (an expression's, with a caret) are kept.
        where = f"{printable(self.file)}:{self.line}:{self.col}"
        message = "\n".join(map(printable, self.message.split("\n")))
        return f"{where}: {printable(self.path)}: {message}" if self.path else f"{where}: {message}"


class SpecError(ScimrecError):
    """The spec is invalid; carries every issue found, not just the first."""

    def __init__(self, issues: list[SpecIssue], secret_envs: tuple[str, ...] = ()) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.col, i.path, i.message))
        # The variables the targets read so far name for secrets: a secret pasted into the
        # spec may be what an issue quotes, and is masked before any is shown.
        self.secret_envs = secret_envs
        super().__init__("\n".join(str(i) for i in self.issues))


class UsageError(ScimrecError):
    """A command-line mistake: unknown target, bad --only selector, missing environment variable."""


class TargetError(ScimrecError):
    """The target cannot be used at all: unreachable, refuses our credentials, or is not SCIM."""


def printable(text: str) -> str:
    """`text` with each control character shown as its escape: text that quotes what a
    target holds may carry a terminal escape sequence, which would move the cursor and
    write over lines of the plan a reviewer is reading."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def one_line(text: str, limit: int) -> str:
    """`text` on one line (any run of whitespace, line breaks included, one space), shown
    `printable`, cut to `limit` characters with a mark where it was cut."""
    line = printable(" ".join(text.split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ScimHTTPError(ScimrecError):
    """A SCIM request got an error response; keeps what the server said about it."""

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        detail: str,
        scim_type: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        # The target's own words go into a one-line error: a detail of many lines could
        # pass for scimrec's output (or bury it), so it is one line here, and bounded.
        # Every caller hands it over already scrubbed of secrets (scim/client.py), so a
        # cut cannot leave part of a secret unmasked.
        self.detail = one_line(detail, 300)
        self.scim_type = None if scim_type is None else one_line(scim_type, 60)
        # The answer was a SCIM error (RFC 7644 §3.12): the service itself, no gateway, said it.
        self.from_service = False
        detail, scim_type = self.detail, self.scim_type
        kind = f" ({scim_type})" if scim_type else ""
        # Status 0: no answer came (a timeout, a reset); "answered 0" is no status a
        # reader knows.
        said = f"answered {status}{kind}" if status else "got no answer"
        super().__init__(f"{method} {path} {said}: {detail}")


class ScimProtocolError(ScimrecError):
    """The target answered, but not in SCIM: HTML, invalid JSON, a body of the wrong shape."""

    # The status of the answer that could not be read (0: none came, or not yet known): the
    # audit trail records a write answered 201 with an unreadable body as answered 201.
    status = 0
