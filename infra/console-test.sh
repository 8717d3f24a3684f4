#!/usr/bin/env bash
# The console's browser tests (tests/console/test_console.py): headless Chromium from
# Debian's `chromium` package, driven by Playwright's Python package (no browser download).
# Chromium is installed with apt when it is missing and this runs as root; where it cannot
# be installed the tests are skipped with a message saying so. Builds nothing: `make test`
# builds target/debug/hookbridge-local first.
#
# CONSOLE_SCREENSHOTS=<dir> keeps a screenshot of each page there (make console-screenshots).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$here/.venv}"

chromium="${HOOKBRIDGE_CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "console tests: installing Debian's chromium package"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || true
  fi
  chromium="$(command -v chromium || true)"
fi
if [ -z "$chromium" ]; then
  echo "console tests SKIPPED: Debian's chromium package is not installed and could not be installed here" \
       "(run as root, or apt-get install chromium)." >&2
  exit 0
fi

export HOOKBRIDGE_CHROMIUM="$chromium"
export HOOKBRIDGE_BIN="${HOOKBRIDGE_BIN:-$here/target/debug/hookbridge-local}"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here/tests/console" "$@"
