"""doctor's Bulk finding says what apply does with what the target advertises."""

from __future__ import annotations

from reconciler.doctor.claims import bulk_finding


def test_advertised_bulk_is_used_within_its_limits() -> None:
    spc = {"bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}}
    finding = bulk_finding(spc)
    assert finding.observed == "Bulk is advertised (maxOperations 1000, maxPayloadSize 1048576)"
    assert finding.action.startswith("one request per change; with quirks: {bulk: use}, ")
    assert "apply sends 10 or more user creates, and 10 or more group creates, in Bulk" in (
        finding.action
    )


def test_bulk_not_advertised_means_one_request_per_change() -> None:
    finding = bulk_finding({"bulk": {"supported": False, "maxOperations": 0}})
    assert (finding.observed, finding.action) == (
        "Bulk is not advertised",
        "one request per change, with bounded concurrency",
    )
