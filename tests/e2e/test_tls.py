"""TLS verification against the sandbox behind HTTPS: untrusted certificates, CA bundles."""

from __future__ import annotations

import contextlib
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import pytest

from reconciler.cli import main
from reconciler.scim.sandbox import WSGIApp, make_app


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The sandbox behind HTTPS with a self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    _certificate(folder)
    with _served(make_app(None), folder) as url:
        yield f"{url}/scim/v2", folder / "cert.pem"


def _certificate(folder: Path) -> None:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem) in `folder`."""
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


@contextlib.contextmanager
def _served(app: WSGIApp, folder: Path) -> Iterator[str]:
    """`app` behind HTTPS with the certificate in `folder`; its base URL."""
    server = make_server("127.0.0.1", 0, app)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


ACCESS_TOKEN = "tls-oauth-access-token-5Jq8Zr"


@pytest.fixture(scope="module")
def tls_oauth_sandbox(tls_sandbox: tuple[str, Path]) -> Iterator[str]:
    """The sandbox behind HTTPS, with its OAuth token endpoint (/token) on the same server
    and certificate: a private CA trusted by the target's ca_bundle."""
    scim = make_app(ACCESS_TOKEN)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] != "/token":
            return scim(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"access_token": ACCESS_TOKEN, "token_type": "Bearer"}).encode()]

    with _served(app, tls_sandbox[1].parent) as url:
        yield url


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


def oauth_spec(folder: Path, url: str, extra: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TLS_CLIENT_ID", "scimrec")
    monkeypatch.setenv("TLS_CLIENT_SECRET", "tls-client-secret-9Wd3")
    auth = (
        "{type: oauth2_client_credentials, "
        f"token_url: {url}/token, "
        "client_id_env: TLS_CLIENT_ID, client_secret_env: TLS_CLIENT_SECRET}"
    )
    specs = spec(folder, f"{url}/scim/v2", extra)
    text = (specs / "t.yaml").read_text()
    (specs / "t.yaml").write_text(text.replace("auth: {type: none}", f"auth: {auth}"))
    return specs


def test_an_untrusted_token_endpoint_is_refused_with_a_hint(
    tls_oauth_sandbox: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    specs = oauth_spec(tmp_path / "s", tls_oauth_sandbox, "", monkeypatch)
    code = main(["plan", str(specs), "--log-level", "error"])
    _, err = capsys.readouterr()
    assert code == 1
    [line] = [x for x in err.splitlines() if x.startswith("Error:")]
    assert line.startswith(f"Error: cannot get an OAuth token from {tls_oauth_sandbox}/token: ")
    assert "CERTIFICATE_VERIFY_FAILED" in line and "ca_bundle" in line


def test_the_token_endpoint_is_trusted_by_the_ca_bundle_too(
    tls_oauth_sandbox: str,
    tls_sandbox: tuple[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The token endpoint is reached as the target is: the same trust, not the OS store's.
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "ca.pem").write_bytes(tls_sandbox[1].read_bytes())
    specs = oauth_spec(tmp_path / "s", tls_oauth_sandbox, "    ca_bundle: ca.pem\n", monkeypatch)
    code = main(["plan", str(specs), "--log-level", "error"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "+ create user a@example.com" in out


def test_the_token_endpoint_is_also_trusted_by_the_os_store(
    tls_oauth_sandbox: str,
    tls_sandbox: tuple[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The app behind a private CA (ca_bundle), its token endpoint a public identity
    # provider: here another certificate, trusted by the OS store (SSL_CERT_FILE stands in
    # for it). ca_bundle adds to what the token client trusts; it replaces nothing.
    folder = tmp_path_factory.mktemp("idp")
    _certificate(folder)

    def idp(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"access_token": ACCESS_TOKEN, "token_type": "Bearer"}).encode()]

    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "ca.pem").write_bytes(tls_sandbox[1].read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(folder / "cert.pem"))
    with _served(idp, folder) as idp_url:
        specs = oauth_spec(
            tmp_path / "s", tls_oauth_sandbox, "    ca_bundle: ca.pem\n", monkeypatch
        )
        text = (specs / "t.yaml").read_text()
        (specs / "t.yaml").write_text(
            text.replace(f"token_url: {tls_oauth_sandbox}/token", f"token_url: {idp_url}/token")
        )
        code = main(["plan", str(specs), "--log-level", "error"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "+ create user a@example.com" in out
