"""The supply-chain gate: known vulnerabilities in the locked dependencies fail the tests.

Run by ``scripts/test.sh`` before pytest (``.venv/bin/python scripts/audit_dependencies.py``):

- Python: ``uv export`` of ``uv.lock`` (every group and extra, hashed, without Turnout
  itself) is audited by ``pip-audit`` against the vulnerability service named by
  ``TURNOUT_AUDIT_PYTHON_SERVICE`` (``pypi``, the default, or ``osv``). ``--strict``
  makes a dependency that could not be audited an error.
- npm: ``npm audit --json`` of ``web/package-lock.json``; every advisory it reports,
  whatever its severity, is a finding.

A finding passes only when ``accepted-advisories.toml`` lists its advisory id, with a
reason and a review date that has not passed (docs/security.md says how to add one).
When a vulnerability service cannot be reached, nothing was audited: that is a failure,
said loudly, never a pass.

Exit status 0: everything was audited and every finding is accepted; 1: a finding nobody
accepted, or an invalid acceptance; 3: nothing was found against, but some ecosystem could
not be audited at all (its service unreachable). ``scripts/test.sh`` turns 3 into a loud
warning, or a failure with ``TURNOUT_AUDIT_REQUIRED=1`` (docs/security.md says why).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[1]
ACCEPTED_ADVISORIES = REPO / "accepted-advisories.toml"
#: pip-audit asks its service once per locked package (about 150): a minute when the
#: service answers, and a hung service must not hang the test command.
PIP_AUDIT_TIMEOUT_S = 600.0
#: One bulk request for the whole npm lock file.
NPM_AUDIT_TIMEOUT_S = 300.0
EXPORT_TIMEOUT_S = 120.0
PYTHON_SERVICES = ("pypi", "osv")
#: Exit status when some ecosystem could not be audited at all and nothing else failed.
NOT_AUDITED = 3

Ecosystem = Literal["pypi", "npm"]
_GHSA = re.compile(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}")


class AuditError(Exception):
    """The gate fails: a finding nobody accepted, or an invalid acceptance."""


class AuditUnavailable(AuditError):
    """No audit happened: the vulnerability service could not be reached or gave no report."""


@dataclass(frozen=True)
class Acceptance:
    """One known vulnerability accepted on purpose, until ``review_by``."""

    id: str
    ecosystem: Ecosystem
    package: str
    reason: str
    review_by: dt.date


@dataclass(frozen=True)
class Finding:
    id: str
    package: str
    severity: str
    title: str


def load_acceptances(path: Path, today: dt.date) -> list[Acceptance]:
    """The accepted advisories; an entry that is incomplete or past its review date
    fails the gate (an acceptance is a decision with a reason and an end)."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AuditError(f"cannot read {path}: {exc}") from exc
    accepted = []
    for number, entry in enumerate(raw.get("advisory", []), start=1):
        where = f"{path.name}, advisory #{number}"
        missing = [
            k for k in ("id", "ecosystem", "package", "reason", "review_by") if not entry.get(k)
        ]
        if missing:
            raise AuditError(f"{where}: missing {', '.join(missing)}")
        if entry["ecosystem"] not in ("pypi", "npm"):
            raise AuditError(f"{where}: ecosystem must be pypi or npm, not {entry['ecosystem']!r}")
        if not isinstance(entry["review_by"], dt.date):
            raise AuditError(f"{where}: review_by must be a date (review_by = 2027-01-31)")
        if entry["review_by"] < today:
            raise AuditError(
                f"{where}: the acceptance of {entry['id']} ({entry['package']}) was due for "
                f"review on {entry['review_by']}: review it, then renew or remove it"
            )
        accepted.append(
            Acceptance(
                id=str(entry["id"]),
                ecosystem=entry["ecosystem"],
                package=str(entry["package"]),
                reason=str(entry["reason"]),
                review_by=entry["review_by"],
            )
        )
    return accepted


def _accepted_ids(accepted: Sequence[Acceptance], ecosystem: Ecosystem) -> set[str]:
    return {a.id for a in accepted if a.ecosystem == ecosystem}


def _run(
    command: Sequence[str], timeout_s: float, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(command), capture_output=True, text=True, cwd=cwd, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise AuditError(
            f"{command[0]} {' '.join(command[1:3])} gave no verdict within {timeout_s:.0f} s: "
            "nothing was audited"
        ) from exc


# ---- Python ------------------------------------------------------------------------------


def pip_audit_command(
    requirements: Path, service: str, accepted: Sequence[Acceptance]
) -> list[str]:
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(requirements)]
    command += ["--require-hashes", "--disable-pip", "--strict", "--format", "json"]
    command += ["--vulnerability-service", service, "--progress-spinner", "off"]
    for advisory in sorted(_accepted_ids(accepted, "pypi")):
        command += ["--ignore-vuln", advisory]
    return command


def pip_audit_findings(report: dict[str, Any]) -> list[Finding]:
    """The vulnerabilities in pip-audit's JSON report (accepted ones are already left
    out). A dependency it skipped was not audited: that fails the gate too."""
    skipped = [
        f"{dep['name']}: {dep['skip_reason']}"
        for dep in report.get("dependencies", [])
        if dep.get("skip_reason")
    ]
    if skipped:
        raise AuditError(f"pip-audit could not audit {'; '.join(skipped)}")
    findings = []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            summary = f"fixed in: {fixes}"
            findings.append(Finding(vuln["id"], f"{dep['name']} {dep['version']}", "", summary))
    return findings


def audit_python(accepted: Sequence[Acceptance], service: str, scratch: Path) -> list[Finding]:
    if service not in PYTHON_SERVICES:
        raise AuditError(
            f"TURNOUT_AUDIT_PYTHON_SERVICE must be one of {PYTHON_SERVICES}, not {service!r}"
        )
    export = _run(
        [
            sys.executable,
            "-m",
            "uv",
            "export",
            "--frozen",
            "--format",
            "requirements-txt",
            "--all-groups",
            "--all-extras",
            "--no-emit-project",
            "--quiet",
        ],
        EXPORT_TIMEOUT_S,
    )
    if export.returncode != 0:
        raise AuditError(f"uv export failed: {export.stderr.strip()}")
    requirements = scratch / "requirements.txt"
    requirements.write_text(export.stdout)
    audit = _run(pip_audit_command(requirements, service, accepted), PIP_AUDIT_TIMEOUT_S)
    try:
        report = json.loads(audit.stdout)
    except json.JSONDecodeError:
        report = None
    if report is None:
        lines = [line for line in audit.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")]
        detail = (errors or lines or [f"exit code {audit.returncode}"])[-1]
        raise AuditUnavailable(
            f"pip-audit could not audit the locked Python dependencies with the {service!r} "
            f"vulnerability service (is it reachable from here?): {detail}. Nothing was audited."
        )
    return pip_audit_findings(report)


# ---- npm -----------------------------------------------------------------------------------


def npm_audit_findings(report: dict[str, Any]) -> list[Finding]:
    """Every advisory in ``npm audit --json`` (report version 2). A package listed only
    ``via`` another package is affected by that one's advisories, found there."""
    if "vulnerabilities" not in report:
        message = report.get("message") or report.get("error", {}).get("summary") or "no report"
        raise AuditUnavailable(
            f"npm audit gave no report (is the registry's audit endpoint reachable from "
            f"here?): {message}. Nothing was audited."
        )
    found: dict[str, Finding] = {}
    for package, entry in report["vulnerabilities"].items():
        for via in entry.get("via", []):
            if not isinstance(via, dict):
                continue
            match = _GHSA.search(str(via.get("url", "")))
            advisory = match.group(0) if match else f"npm-{via.get('source')}"
            found[advisory] = Finding(
                advisory,
                str(via.get("name", package)),
                str(via.get("severity", "")),
                str(via.get("title", "")),
            )
    return sorted(found.values(), key=lambda f: f.id)


def audit_npm(accepted: Sequence[Acceptance]) -> list[Finding]:
    audit = _run(["npm", "audit", "--json", "--audit-level=low"], NPM_AUDIT_TIMEOUT_S, REPO / "web")
    try:
        report = json.loads(audit.stdout)
    except json.JSONDecodeError as exc:
        raise AuditUnavailable(
            f"npm audit gave no JSON report (exit code {audit.returncode}): "
            f"{(audit.stderr or audit.stdout).strip()[-400:]}. Nothing was audited."
        ) from exc
    ids = _accepted_ids(accepted, "npm")
    return [f for f in npm_audit_findings(report) if f.id not in ids]


# ---- the gate --------------------------------------------------------------------------------


def _describe(ecosystem: str, findings: Sequence[Finding]) -> str:
    lines = [f"known {ecosystem} vulnerabilities not accepted ({len(findings)}):"]
    lines += [f"  {f.id}  {f.package}  {f.severity}  {f.title}".rstrip() for f in findings]
    return "\n".join(lines)


def _verdict(ecosystem: str, audit: Callable[[], list[Finding]]) -> str | None:
    """None when ``audit`` found nothing unaccepted; else why the gate fails."""
    try:
        findings = audit()
    except AuditUnavailable:
        raise
    except AuditError as exc:
        return str(exc)
    if findings:
        return _describe(ecosystem, findings)
    sys.stdout.write(f"{ecosystem}: no known vulnerability (or only accepted ones)\n")
    return None


#: An audit to run: the ecosystem's name, and the call that returns its findings.
Audit = tuple[str, Callable[[], list[Finding]]]


def gate(audits: Sequence[Audit]) -> int:
    """Run every audit and judge: 1 when one found an unaccepted vulnerability (or its
    acceptances were invalid), :data:`NOT_AUDITED` when none did but one could not run,
    0 only when every audit ran and found nothing unaccepted."""
    failures: list[str] = []
    unavailable: list[str] = []
    for ecosystem, audit in audits:
        try:
            if failure := _verdict(ecosystem, audit):
                failures.append(failure)
        except AuditUnavailable as exc:
            unavailable.append(str(exc))
    if failures:
        failures += unavailable
        for failure in failures:
            sys.stderr.write(f"supply-chain audit FAILED: {failure}\n")
        sys.stderr.write("to accept an advisory on purpose, see docs/security.md\n")
        return 1
    if unavailable:
        for reason in unavailable:
            sys.stderr.write(f"supply-chain audit NOT PERFORMED: {reason}\n")
        return NOT_AUDITED
    return 0


def main() -> int:
    service = os.environ.get("TURNOUT_AUDIT_PYTHON_SERVICE", "pypi")
    try:
        accepted = load_acceptances(ACCEPTED_ADVISORIES, dt.date.today())
    except AuditError as exc:
        sys.stderr.write(f"supply-chain audit FAILED: {exc}\n")
        return 1
    with tempfile.TemporaryDirectory(prefix="turnout-audit-") as scratch:
        return gate(
            [
                ("Python", partial(audit_python, accepted, service, Path(scratch))),
                ("npm", partial(audit_npm, accepted)),
            ]
        )


if __name__ == "__main__":
    raise SystemExit(main())
