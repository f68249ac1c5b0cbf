"""TLS verification against the sandbox behind HTTPS: untrusted certificates, CA bundles."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import make_server

import pytest

from reconciler.cli import main
from reconciler.scim.sandbox import make_app


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The sandbox behind HTTPS with a self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server = make_server("127.0.0.1", 0, make_app(None))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/scim/v2", folder / "cert.pem"
    server.shutdown()


def spec(folder: Path, url: str, extra: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(
        f"version: 1\ntargets:\n  t:\n    url: {url}\n    auth: {{type: none}}\n{extra}"
        "users:\n  - userName: a@example.com\n"
    )
    return folder


def test_untrusted_certificate_is_refused_with_a_hint(
    tls_sandbox: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = tls_sandbox
    code = main(["plan", str(spec(tmp_path / "s", url)), "--log-level", "error"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"Error: cannot verify the TLS certificate of {url}: ")
    assert "ca_bundle" in err
    assert err.count("\n") == 1


def test_ca_bundle_is_trusted(
    tls_sandbox: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, cert = tls_sandbox
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "ca.pem").write_bytes(cert.read_bytes())
    specs = spec(tmp_path / "s", url, "    ca_bundle: ca.pem\n")
    code = main(["plan", str(specs), "--log-level", "error"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "+ create user a@example.com" in out
