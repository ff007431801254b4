#!/usr/bin/env bash
# The README's test command: install what the suite needs, then run it.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k vae`).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test || { echo "setup failed" >&2; exit 1; }
# The linter first (config in pyproject.toml): a lint error fails the run like a test.
.venv/bin/ruff check src tests benchmarks || { echo "ruff found problems (see above)" >&2; exit 1; }
.venv/bin/python -m pytest "$@"
rc=$?
# pytest exits 5 when it collected no test: for us that is a failure, not a pass.
if [[ $rc -eq 5 ]]; then echo "no tests were collected" >&2; exit 1; fi
exit $rc
