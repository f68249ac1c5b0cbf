"""The doctor's Report: its findings, its JSON form, and the text rendered from that form."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from reconciler.core.model import Json
from reconciler.doctor.findings import FAIL, INFO, OK, WARN, Finding

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Report:
    target: str
    url: str
    write_probe: bool
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(f.status == FAIL for f in self.findings)

    def finding(self, area: str, check: str) -> Finding:
        """The finding of one check; KeyError when the check did not run."""
        for finding in self.findings:
            if (finding.area, finding.check) == (area, check):
                return finding
        raise KeyError(f"no finding {area}: {check}")

    def to_json(self) -> dict[str, Json]:
        return {
            "format_version": FORMAT_VERSION,
            "target": {"name": self.target, "url": self.url},
            "write_probe": self.write_probe,
            "findings": [f.to_json() for f in self.findings],
        }


def report_text(report: Report) -> str:
    """The report as aligned text, one finding per line, rendered from its JSON form."""
    data = report.to_json()
    target: dict[str, str] = data["target"]
    rows: list[dict[str, str]] = data["findings"]
    mode = "with write probes" if data["write_probe"] else "read-only"
    lines = [f"Doctor report for target '{target['name']}' at {target['url']} ({mode}):"]
    area = max((len(r["area"]) for r in rows), default=0)
    check = max((len(r["check"]) for r in rows), default=0)
    for row in rows:
        what = row["observed"]
        if row["action"] not in ("", "none", "none needed"):
            what = f"{what} → {row['action']}"
        lines.append(
            f"  {row['status']:<4}  {row['area']:<{area}}  {row['check']:<{check}}  {what}"
        )
    counts = Counter(r["status"] for r in rows)
    lines.append(
        f"Doctor: {counts[OK]} ok, {counts[WARN]} warn, {counts[FAIL]} fail, {counts[INFO]} info."
    )
    return "\n".join(lines) + "\n"
