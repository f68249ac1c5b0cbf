"""FakeScim with a Bulk endpoint (RFC 7644 §3.7), for fault injection in Bulk creates.

Each POST operation is served as the single POST it stands for (so uniqueness, dropped
attributes and ids behave alike), after its `bulkId:` references are replaced; its result
carries `location` and a string status, as scim2-server's do, and no resource.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx2

from tests.fakescim import FakeScim, Seen

BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


class BulkScim(FakeScim):
    def __init__(self, *, token: str | None = None, max_operations: int = 1000) -> None:
        super().__init__(token=token)
        self.config["bulk"] = {
            "supported": True,
            "maxOperations": max_operations,
            "maxPayloadSize": 1048576,
        }
        # By the userName or displayName it creates: answer this status (with a SCIM error)
        # instead of serving the operation.
        self.op_status: dict[str, int] = {}
        # Likewise: serve the operation but leave its result out of the answer.
        self.omit_result: set[str] = set()
        # Likewise: leave it out of the answer, and do nothing.
        self.skip: set[str] = set()
        self.with_resource = False  # results carry the created resource in `response`
        # Ctrl-C (SIGINT to the main thread, as a terminal sends it) once a Bulk request
        # this says yes to is carried out, before it is answered.
        self.ctrl_c: Callable[[Seen], bool] | None = None

    def bulk_requests(self) -> list[list[dict[str, Any]]]:
        """The operations of each Bulk request received, in order."""
        return [
            list(s.body["Operations"])
            for s in self.requests
            if s.method == "POST" and s.path == "/Bulk"
        ]

    def _serve(self, seen: Seen) -> httpx2.Response:
        if seen.path != "/Bulk" or not self.config["bulk"]["supported"]:
            return super()._serve(seen)
        if self.token is not None and seen.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(seen, 401, "authentication failed")
        created: dict[str, str] = {}
        results = []
        for op in seen.body["Operations"]:
            bulk_id = op.get("bulkId")
            name = op["data"].get("userName") or op["data"].get("displayName")
            if name in self.skip:
                continue
            if name in self.op_status:
                status = self.op_status[name]
                error = {"status": str(status), "detail": f"operation {bulk_id} refused"}
                results.append({"method": "POST", "bulkId": bulk_id, "status": str(status),
                                "response": error})  # fmt: skip
                continue
            text = json.dumps(op["data"])
            for ref, rid in created.items():
                text = text.replace(f'"bulkId:{ref}"', json.dumps(rid))
            if '"bulkId:' in text:
                error = {"status": "409", "detail": "a bulkId reference was not created"}
                results.append({"method": "POST", "bulkId": bulk_id, "status": "409",
                                "response": error})  # fmt: skip
                continue
            single = Seen("POST", op["path"], {}, json.loads(text), seen.headers)
            answer = super()._serve(single)
            body = json.loads(answer.content) if answer.content else {}
            result: dict[str, Any] = {"method": "POST", "bulkId": bulk_id,
                                      "status": str(answer.status_code)}  # fmt: skip
            if answer.status_code == 201:
                created[bulk_id] = body["id"]
                result["location"] = body["meta"]["location"]
                if self.with_resource:
                    result["response"] = body
            else:
                result["response"] = body
            if name not in self.omit_result:
                results.append(result)
        if self.ctrl_c is not None and self.ctrl_c(seen):
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            # Answered once the keypress is handled, as over a network: answered at once,
            # the Bulk thread could start its next request before the main thread has run
            # Python's handler (which a loaded machine may delay), and the test would
            # measure the scheduler.
            time.sleep(0.5)
        return httpx2.Response(200, json={"schemas": [BULK_RESPONSE], "Operations": results})
