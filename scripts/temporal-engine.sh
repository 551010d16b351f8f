#!/usr/bin/env bash
# The production Temporal engine, project-local: builds the Temporal server (`temporal-server`, every
# service, run one per process), its SQL schema tool (`temporal-sql-tool`) and the Web UI server
# (`temporal-ui-server`) from their Go modules into the git-ignored .tools/, and makes sure PostgreSQL's
# server binaries are installed (from Debian's packages, when running as root). Builds already there
# at the pinned versions are reused. Prints KEY=VALUE lines: the three binaries, the PostgreSQL schemas
# the SQL tool applies (schema/postgresql/v12 of the server's module), the UI module's folder (its
# config/docker.yaml is the configuration the temporal-ui image runs) and PostgreSQL's bin folder.
#
# Versions: ops/temporal-engine pins go.temporal.io/server and ops/temporal-ui pins
# github.com/temporalio/ui-server/v2 (go.mod and go.sum there; tools.go names the commands). v1.32.0
# and v2.54.1 are the server and UI inside the pinned dev server (temporal CLI 1.9.1, in
# scripts/temporal-binaries.sh), so the cluster and everything tested on the dev server run the same
# server code. Move them together; test/unit/deployment.test.ts checks that they agree.
#
# Needs Go (1.26.8 or newer: the server module's own minimum) and the Go module proxy; the first build takes minutes (downloads and compilation).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "$@" >&2; }

pinned() { # $1 module folder, $2 module path: the version its go.mod requires
  local v
  v="$(sed -n "s|^require $2 \(v[0-9.]*\)$|\1|p" "$1/go.mod")"
  [ -n "$v" ] || { echo "error: no $2 version in $1/go.mod" >&2; exit 1; }
  echo "$v"
}

command -v go >/dev/null || {
  echo "error: Go is needed to build the Temporal server; install Go 1.26.8 or newer" >&2
  exit 1
}

built_version() { # the version a binary reports, e.g. 1.32.0; empty when absent
  [ -x "$1" ] && "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true
}

build() { # $1 module folder, $2 version, $3 output binary, $4 package
  [ "$(built_version "$3")" = "${2#v}" ] && return
  say "building $4 $2 into ${3#"$root"/} (first time: minutes) ..."
  mkdir -p "$(dirname "$3")"
  # -mod=readonly: go.mod and go.sum pin every dependency; a build that would change them fails.
  (cd "$1" && go build -mod=readonly -trimpath -o "$3.tmp" "$4")
  mv "$3.tmp" "$3"
}

engine_module="$root/ops/temporal-engine"
server_version="$(pinned "$engine_module" go.temporal.io/server)"
out="$root/.tools/temporal-engine/$server_version"
build "$engine_module" "$server_version" "$out/temporal-server" go.temporal.io/server/cmd/server
build "$engine_module" "$server_version" "$out/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql
schemas="$(cd "$engine_module" && go list -mod=readonly -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql/v12"
[ -d "$schemas/temporal/versioned" ] || { echo "error: no PostgreSQL schemas under $schemas" >&2; exit 1; }

ui_module="$root/ops/temporal-ui"
ui_version="$(pinned "$ui_module" github.com/temporalio/ui-server/v2)"
ui_server="$root/.tools/temporal-ui/$ui_version/temporal-ui-server"
build "$ui_module" "$ui_version" "$ui_server" github.com/temporalio/ui-server/v2/cmd/server
ui_root="$(cd "$ui_module" && go list -mod=readonly -m -f '{{.Dir}}' github.com/temporalio/ui-server/v2)"

# PostgreSQL: Debian's server binaries (the newest major installed), never a running system cluster.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb). Install Debian's" >&2
    echo "       postgresql package (sudo apt-get install postgresql), or run this script as root to install it." >&2
    exit 1
  fi
  say "installing PostgreSQL from Debian's packages ..."
  # The package would create and start a system-wide cluster on port 5432; ours runs under .data/.
  if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold postgresql >&2
fi

echo "TEMPORAL_SERVER_PATH=$out/temporal-server"
echo "TEMPORAL_SQL_TOOL=$out/temporal-sql-tool"
echo "SCHEMA_DIR=$schemas"
echo "TEMPORAL_UI_SERVER_PATH=$ui_server"
echo "TEMPORAL_UI_ROOT=$ui_root"
echo "POSTGRES_BIN=$(pg_bin)"
