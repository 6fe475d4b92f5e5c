#!/usr/bin/env bash
# The whole test suite on a fresh clone: set up, quality gates (the supply-chain audit
# among them: known vulnerabilities in the locked Python and npm dependencies fail it,
# and so does an audit that could not run), then every test (unit tests need no
# service; integration tests start a real local stack; the dashboard's component tests
# run under vitest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/system-deps.sh

echo "== ruff (lint)";   .venv/bin/ruff check .
echo "== ruff (format)"; .venv/bin/ruff format --check .
echo "== mypy (strict)"; .venv/bin/mypy
echo "== dashboard component tests"; (cd web && npm test --silent)
echo "== supply chain (pip-audit, npm audit)"; .venv/bin/python scripts/audit_dependencies.py
echo "== pytest";        exec .venv/bin/pytest tests/unit tests/integration "$@"
