#!/usr/bin/env bash
# The main job on a fresh clone: set up, then run the demo (`turnout demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/turnout demo "$@"
