#!/usr/bin/env bash
# Sets up the Python environment from the lock file, with only what the machine ships
# (Python 3.11+, Java 17+, Maven) plus the package registries. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# uv must use the machine's Python, never download one.
export UV_PYTHON_DOWNLOADS=never

for tool in python3 java mvn node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is not on PATH; Turnout needs Python 3.11+, Java 17+, Maven and Node.js 20+" >&2
    exit 1
  fi
done

if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "… installing uv (the lock-file installer) from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check uv
fi

python3 -m uv sync --frozen --python python3 --quiet

# The dashboard: install its locked packages only when the lock file changed, then build
# the static assets the control plane serves at /.
lock_sum=$(sha256sum web/package-lock.json | cut -d' ' -f1)
stamp=web/node_modules/.turnout-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "… installing the dashboard's npm packages"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > "$stamp"
fi
echo "… building the dashboard"
(cd web && npm run --silent build >/dev/null)
