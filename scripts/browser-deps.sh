#!/usr/bin/env bash
# Makes sure a Chromium exists for the browser tests (test/browser), without any browser download:
# playwright-core drives whatever Chromium this machine has. Prints the absolute path it settled on.
#
# Preference:
#   1. CHROMIUM_PATH, when set (must be executable)
#   2. /usr/bin/chromium (Debian's package)
#   3. installing Debian's `chromium` package with apt-get, when running as root
#   4. otherwise: a clear error, exit 1
# Idempotent, and silent (apart from the path) when Chromium is already there.
set -euo pipefail

default_path=/usr/bin/chromium

if [ -n "${CHROMIUM_PATH:-}" ]; then
  if [ -x "$CHROMIUM_PATH" ] && [ ! -d "$CHROMIUM_PATH" ]; then
    echo "$CHROMIUM_PATH"
    exit 0
  fi
  echo "error: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file" >&2
  exit 1
fi

if [ -x "$default_path" ]; then
  echo "$default_path"
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium package (apt-get) for the browser tests" >&2
  if apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 \
    && [ -x "$default_path" ]; then
    echo "$default_path"
    exit 0
  fi
  echo "error: apt-get could not install chromium; install it, or set CHROMIUM_PATH to a Chromium binary" >&2
  exit 1
fi

cat >&2 <<MSG
error: no Chromium found for the browser tests (test/browser).
  Install Debian's package as root:  apt-get install chromium
  or point CHROMIUM_PATH at a Chromium/Chrome binary:  CHROMIUM_PATH=/path/to/chrome npm test
MSG
exit 1
