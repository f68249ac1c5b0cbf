"""SIGTERM (a cancelled CI job, timeout(1), systemd, Kubernetes) stops apply as Ctrl-C does:
no new change starts, the writes in flight finish and are audited, the summary is printed,
and the exit code is 143 (cli/terminate.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import user, write_spec

ROOT = Path(__file__).resolve().parents[2]
USERS = 20

# The apply in a process of its own (SIGTERM would end the test run otherwise), against
# the fake target; the third create's request sends the process SIGTERM, and each create
# is answered a moment after the target carried it out, so writes are in flight then.
SCRIPT = """
import json, os, signal, sys, threading, time
import httpx2
from reconciler import cli
from tests.fakescim import FakeScim

fake = FakeScim(token=sys.argv[3])
lock = threading.Lock()

def handle(request):
    response = fake.handle(request)
    if request.method == "POST":
        with lock:
            first = fake.count("POST", "/Users") == 3
        if first:
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
    return response

argv = ["apply", sys.argv[1], "--target", "fake", "--auto-approve", "--no-progress",
        "--audit-log", sys.argv[2]]
code = cli.main(argv, transport=httpx2.MockTransport(handle))
print(json.dumps(fake.count("POST", "/Users")), file=sys.stderr)
sys.exit(code)
"""


def test_sigterm_stops_apply_as_ctrl_c_with_every_write_audited(tmp_path: Path) -> None:
    specs = write_spec(tmp_path, [user(f"u{i}@example.com") for i in range(USERS)], concurrency=2)
    audit = tmp_path / "audit.jsonl"
    env = {**os.environ, TOKEN_ENV: TOKEN, "PYTHONPATH": str(ROOT), "SCIMREC_CACHE_DIR": ""}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(specs), str(audit), TOKEN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 143, (done.returncode, done.stderr[-2000:])
    assert done.returncode != -signal.SIGTERM
    created = int(done.stderr.strip().splitlines()[-1])
    records = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    # Every create the target carried out is on record, and the run stopped early.
    assert 3 <= len(records) == created < USERS
    assert all(r["outcome"] == "ok" for r in records)
    assert "Interrupted: stopped after the requests in flight;" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
