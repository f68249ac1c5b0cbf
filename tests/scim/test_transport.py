"""Transport rules without a server: CA bundles and plain HTTP in specs, the max_rps pace."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx2
import pytest

from reconciler.cli import main
from reconciler.core.config import Target
from reconciler.errors import UsageError
from reconciler.scim.client import ScimClient


def spec(folder: Path, url: str, extra: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(
        f"version: 1\ntargets:\n  t:\n    url: {url}\n    auth: {{type: none}}\n{extra}"
        "users:\n  - userName: a@example.com\n"
    )
    return folder


def test_missing_ca_bundle_and_remote_http(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = spec(tmp_path / "s", "https://scim.example.com/v2", "    ca_bundle: nope.pem\n")
    assert main(["validate", str(specs)]) == 1
    assert "ca_bundle: CA bundle 'nope.pem' not found" in capsys.readouterr().err
    specs = spec(tmp_path / "h", "http://scim.example.com/v2")
    assert main(["validate", str(specs)]) == 1
    assert "https is required except for loopback" in capsys.readouterr().err
    specs = spec(tmp_path / "k", "http://scim.example.com/v2", "    allow_http: true\n")
    assert main(["validate", str(specs)]) == 0


NO_PEM = (
    "holds no PEM certificate that can be read (empty, DER, damaged or the wrong file): "
    "give a PEM file of the CA certificates to trust"
)
NOT_PEM = {
    "empty": b"",
    "text": b"hello\n",
    "damaged": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "der": bytes.fromhex("3082010a0282010100"),
}


@pytest.mark.parametrize("content", NOT_PEM.values(), ids=NOT_PEM.keys())
def test_a_ca_bundle_with_no_pem_certificate_is_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    specs = spec(tmp_path / "s", "https://scim.example.com/v2", "    ca_bundle: ca.pem\n")
    (specs / "ca.pem").write_bytes(content)
    assert main(["validate", str(specs)]) == 1
    err = capsys.readouterr().err
    where = f"{specs.as_posix()}/t.yaml:6:5: targets.t.ca_bundle"
    assert err.startswith(f"{where}: CA bundle 'ca.pem' {NO_PEM}\n")
    assert "Internal error" not in err


@pytest.mark.parametrize("content", NOT_PEM.values(), ids=NOT_PEM.keys())
def test_a_ca_bundle_with_no_pem_certificate_is_refused_by_the_client(
    tmp_path: Path, content: bytes
) -> None:
    # validate loaded it, but it may have changed since: one line, never an SSLError.
    (tmp_path / "ca.pem").write_bytes(content)
    bundle = (tmp_path / "ca.pem").as_posix()
    with pytest.raises(UsageError) as caught:
        ScimClient.for_target(Target("t", "https://scim.example.com/v2", ca_bundle=bundle))
    assert str(caught.value) == f"the CA bundle {bundle} of target 't' {NO_PEM}"


def test_max_rps_paces_requests_across_threads() -> None:
    target = Target(name="t", url="https://scim.test/v2", max_rps=20)
    client = ScimClient.for_target(
        target, transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json={}))
    )
    started = time.monotonic()
    threads = [threading.Thread(target=client.get, args=("/Users",)) for _ in range(11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 11 requests at 20 per second: the last one starts at least 0.5 s after the first.
    assert time.monotonic() - started >= 0.5
