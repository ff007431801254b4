#!/usr/bin/env bash
# Installs genlab into ./.venv. With --test, also the test tools and Debian's chromium
# (the browser tests drive it through Playwright; Playwright's own browser download
# is not used). Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
if [[ "${1:-}" == "--test" ]]; then extras="[test]"; fi

python3 -m venv .venv 2>/dev/null || true
# constraints.txt pins torch to the CPU wheel; see README for GPU machines.
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".${extras}"

if [[ -n "$extras" && ! -x /usr/bin/chromium ]]; then
  sudo_cmd=""
  if [[ "$(id -u)" != "0" ]]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
