#!/usr/bin/env bash
# Builds the production Temporal engine from source into the project's git-ignored .tools/: the
# server (`temporal-server`, every service, run one per process) and its SQL schema tool
# (`temporal-sql-tool`), from the Go module go.temporal.io/server at the version ops/temporal-engine
# pins (go.mod and go.sum there; tools.go names the two commands). A build already there at that
# version is reused. Prints, one per line: the server, the SQL tool, and the folder holding the
# PostgreSQL schemas the tool applies (schema/postgresql/v12/{temporal,visibility} of the module).
#
# Why this version: v1.32.0 is the server inside the pinned dev server (temporal CLI 1.9.1, in
# scripts/temporal-binaries.sh), so the production engine and everything tested on the dev server run
# the same server code. Move both together.
#
# Needs Go (1.26) and the Go module proxy; nothing else is downloaded. The first build takes minutes
# (module downloads and compilation); later runs print the paths at once.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="$root/ops/temporal-engine"
version="$(sed -n 's/^require go\.temporal\.io\/server \(v[0-9.]*\)$/\1/p' "$module/go.mod")"
[ -n "$version" ] || { echo "error: no go.temporal.io/server version in $module/go.mod" >&2; exit 1; }
out="$root/.tools/temporal-engine/$version"
server="$out/temporal-server"
sqltool="$out/temporal-sql-tool"

command -v go >/dev/null || {
  echo "error: Go is needed to build the Temporal server ($version); install Go 1.26 or newer" >&2
  exit 1
}

built_version() { # the version a binary reports, e.g. 1.32.0; empty when absent
  [ -x "$1" ] && "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true
}

if [ "$(built_version "$server")" != "${version#v}" ] || [ "$(built_version "$sqltool")" != "${version#v}" ]; then
  echo "building Temporal server $version and its SQL tool into ${out#"$root"/} (first time: minutes) ..." >&2
  mkdir -p "$out"
  # -mod=readonly: go.mod and go.sum pin every dependency; a build that would change them fails.
  (cd "$module" && go build -mod=readonly -trimpath -o "$server.tmp" go.temporal.io/server/cmd/server \
    && go build -mod=readonly -trimpath -o "$sqltool.tmp" go.temporal.io/server/cmd/tools/sql)
  mv "$server.tmp" "$server"
  mv "$sqltool.tmp" "$sqltool"
fi

schemas="$(cd "$module" && go list -mod=readonly -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql/v12"
[ -d "$schemas/temporal/versioned" ] || { echo "error: no PostgreSQL schemas under $schemas" >&2; exit 1; }
echo "$server"
echo "$sqltool"
echo "$schemas"
