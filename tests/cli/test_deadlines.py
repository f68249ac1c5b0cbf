"""Every run ends (DESIGN §6): a slow target meets the run's deadline, from the target's
`run_timeout_seconds` or from `--run-timeout`, and the command says so on one line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim


class Drip(httpx2.SyncByteStream):
    """A page of users that arrives one byte every 10 ms (about 20 s in all)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        for byte in self.body[:2000]:
            time.sleep(0.01)
            yield bytes([byte])


def slow_listing(fake: FakeScim) -> httpx2.MockTransport:
    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        if request.url.path.endswith("/Users") and "startIndex" in request.url.params:
            return httpx2.Response(200, stream=Drip(response.content))
        return response

    return httpx2.MockTransport(handle)


def spec(root: Path, **settings: Any) -> Path:
    doc = {
        "version": 1,
        "targets": {"slow": {"url": BASE_URL, "request_timeout_seconds": 600, **settings}},
        "users": [{"userName": "a@example.com"}],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("settings", "flag", "limit"),
    [({"run_timeout_seconds": 0.5}, [], "0.5 s"), ({}, ["--run-timeout", "1s"], "1 s")],
    ids=["target setting", "flag"],
)
@pytest.mark.timing
def test_a_slow_target_meets_the_run_deadline(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    settings: dict[str, Any],
    flag: list[str],
    limit: str,
) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com")
    started = time.monotonic()
    code = main(
        ["plan", str(spec(tmp_path, **settings)), "--log-level", "error", *flag],
        transport=slow_listing(fake),
    )
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == (
        f"Error: the run passed its deadline of {limit} during GET /Users "
        "(run_timeout_seconds, or --run-timeout)\n"
    )
    assert elapsed < 5


def test_the_flag_needs_a_duration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", str(spec(tmp_path)), "--run-timeout", "0s"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "expected a duration longer than zero, got '0s'" in err


@pytest.mark.parametrize("value", ["99999999999d", "\u00b2d", "1" * 5000 + "s"])
def test_a_duration_past_the_calendar_or_not_ascii_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    # Past what a timedelta holds (OverflowError), or a digit int() refuses (ValueError):
    # both once ended the command with exit 3.
    for flag in (["plan", str(spec(tmp_path)), "--run-timeout"], ["apply", "--plan", "p.json"]):
        args = [*flag, value] if flag[0] == "plan" else [*flag, "--max-plan-age", value]
        assert main(args) == 1
        _, err = capsys.readouterr()
        assert "expected a duration such as 30m, 12h or 2d (at most 9 digits)" in err
        assert "Internal error" not in err
