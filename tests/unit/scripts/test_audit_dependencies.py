"""The supply-chain gate's judgement: what passes, what fails, and that an audit that did
not happen is never a pass. The audits themselves need their services and run in
scripts/test.sh; here their reports are given."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from scripts.audit_dependencies import (
    ACCEPTED_ADVISORIES,
    NOT_AUDITED,
    Acceptance,
    AuditError,
    AuditUnavailable,
    Finding,
    gate,
    load_acceptances,
    npm_audit_findings,
    pip_audit_command,
    pip_audit_findings,
)

TODAY = dt.date(2026, 12, 6)


def _acceptances(tmp_path: Path, text: str) -> list[Acceptance]:
    path = tmp_path / "accepted.toml"
    path.write_text(text)
    return load_acceptances(path, TODAY)


def test_the_repositorys_acceptance_list_is_valid_today() -> None:
    load_acceptances(ACCEPTED_ADVISORIES, dt.date.today())


def test_an_acceptance_with_a_reason_and_a_future_review_date_is_read(tmp_path: Path) -> None:
    accepted = _acceptances(
        tmp_path,
        """
[[advisory]]
id = "GHSA-aaaa-bbbb-cccc"
ecosystem = "npm"
package = "vite"
reason = "the dev server is never exposed"
review_by = 2027-01-31
""",
    )
    assert accepted == [
        Acceptance(
            "GHSA-aaaa-bbbb-cccc",
            "npm",
            "vite",
            "the dev server is never exposed",
            dt.date(2027, 1, 31),
        )
    ]


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ('id = "X"\necosystem = "npm"\npackage = "p"\nreview_by = 2027-01-01', "missing reason"),
        ('id = "X"\necosystem = "npm"\npackage = "p"\nreason = "r"', "missing review_by"),
        (
            'id = "X"\necosystem = "maven"\npackage = "p"\nreason = "r"\nreview_by = 2027-01-01',
            "pypi or npm",
        ),
        (
            'id = "X"\necosystem = "npm"\npackage = "p"\nreason = "r"\nreview_by = "soon"',
            "must be a date",
        ),
        (
            'id = "X"\necosystem = "npm"\npackage = "p"\nreason = "r"\nreview_by = 2026-12-05',
            "due for review",
        ),
    ],
)
def test_an_acceptance_without_a_reason_or_past_its_review_fails_the_gate(
    tmp_path: Path, entry: str, complaint: str
) -> None:
    with pytest.raises(AuditError, match=complaint):
        _acceptances(tmp_path, f"[[advisory]]\n{entry}\n")


def test_pip_audit_audits_the_hashed_lock_strictly_and_ignores_only_accepted_python_ids(
    tmp_path: Path,
) -> None:
    accepted = [
        Acceptance("PYSEC-2026-1", "pypi", "a", "r", TODAY),
        Acceptance("GHSA-npm1-only-here", "npm", "b", "r", TODAY),
    ]
    command = pip_audit_command(tmp_path / "req.txt", "pypi", accepted)
    assert {"--strict", "--require-hashes", "--disable-pip"} <= set(command)
    assert command[command.index("--vulnerability-service") + 1] == "pypi"
    ignored = [command[i + 1] for i, arg in enumerate(command) if arg == "--ignore-vuln"]
    assert ignored == ["PYSEC-2026-1"]


def test_a_pip_audit_vulnerability_is_a_finding_with_its_fix() -> None:
    report = {
        "dependencies": [
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [
                    {
                        "id": "GHSA-h5c8-rqwp-cp95",
                        "fix_versions": ["3.1.3"],
                        "aliases": ["CVE-2024-22195"],
                    }
                ],
            },
            {"name": "typer", "version": "0.29.2", "vulns": []},
        ],
        "fixes": [],
    }
    [finding] = pip_audit_findings(report)
    assert (finding.id, finding.package, finding.title) == (
        "GHSA-h5c8-rqwp-cp95",
        "jinja2 3.1.2",
        "fixed in: 3.1.3",
    )


def test_a_dependency_pip_audit_skipped_fails_the_gate_instead_of_passing() -> None:
    report = {"dependencies": [{"name": "alembic", "skip_reason": "Dependency not found on PyPI"}]}
    with pytest.raises(AuditError, match="could not audit alembic"):
        pip_audit_findings(report)


NPM_REPORT: dict[str, Any] = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "vite": {
            "name": "vite",
            "severity": "moderate",
            "isDirect": True,
            "via": [
                {
                    "source": 1103518,
                    "name": "vite",
                    "dependency": "vite",
                    "title": "Vite's server.fs.deny is bypassed",
                    "url": "https://github.com/advisories/GHSA-859w-5945-r5v3",
                    "severity": "moderate",
                    "range": ">=7.0.0 <7.0.8",
                }
            ],
            "effects": ["vitest"],
            "range": "7.0.0 - 7.0.7",
            "nodes": ["node_modules/vite"],
            "fixAvailable": True,
        },
        "vitest": {"name": "vitest", "severity": "moderate", "via": ["vite"], "effects": []},
    },
    "metadata": {"vulnerabilities": {"moderate": 2, "total": 2}},
}


def test_each_npm_advisory_is_one_finding_named_by_its_ghsa_id() -> None:
    [finding] = npm_audit_findings(NPM_REPORT)
    assert (finding.id, finding.package, finding.severity) == (
        "GHSA-859w-5945-r5v3",
        "vite",
        "moderate",
    )


def test_an_npm_audit_that_got_no_answer_is_reported_as_not_audited_never_as_clean() -> None:
    refused = {
        "message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
        "statusCode": 405,
    }
    with pytest.raises(AuditUnavailable, match=r"405 Method Not Allowed.*Nothing was audited"):
        npm_audit_findings(refused)


def test_a_clean_npm_report_has_no_finding() -> None:
    assert npm_audit_findings({"auditReportVersion": 2, "vulnerabilities": {}}) == []


_FOUND = Finding("GHSA-aaaa-bbbb-cccc", "vite", "high", "path traversal in the dev server")


def _clean() -> list[Finding]:
    return []


def _vulnerable() -> list[Finding]:
    return [_FOUND]


def _unreachable() -> list[Finding]:
    raise AuditUnavailable("the registry's audit endpoint did not answer. Nothing was audited.")


def test_the_gate_fails_on_an_unaccepted_vulnerability_naming_it_and_the_way_to_accept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert gate([("Python", _clean), ("npm", _vulnerable)]) == 1
    err = capsys.readouterr().err
    assert "GHSA-aaaa-bbbb-cccc  vite  high" in err
    assert "see docs/security.md" in err


def test_the_gate_passes_only_when_every_audit_ran_clean() -> None:
    assert gate([("Python", _clean), ("npm", _clean)]) == 0
    assert gate([("Python", _clean), ("npm", _unreachable)]) == NOT_AUDITED


def test_a_vulnerability_fails_the_gate_even_when_the_other_audit_could_not_run() -> None:
    assert gate([("Python", _unreachable), ("npm", _vulnerable)]) == 1
