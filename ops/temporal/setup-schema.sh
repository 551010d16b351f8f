#!/bin/sh
# Creates Temporal's two PostgreSQL databases when missing and migrates both to the schema version the
# server needs, with Temporal's SQL tool. Safe to run on every start: an existing database is kept and
# update-schema applies only the versions not yet applied.
# Run by `npm run dev -- --engine cluster` (scripts/temporal/cluster.ts) and by docker-compose.yml's
# temporal-schema service (admin-tools image): POSIX sh, configured by the same variables as
# config.yaml.
#   TEMPORAL_SQL_TOOL  the tool (default temporal-sql-tool on PATH)
#   SCHEMA_DIR         schema/postgresql/v12 of the server's release (default: the admin-tools image's)
set -eu

tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
schemas="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"

# The tool reads the password from SQL_PASSWORD: never on a command line, which other users can list.
SQL_PASSWORD="${POSTGRES_PWD:-}"
export SQL_PASSWORD

sql() { # $1 database, then the tool's command
  db="$1"
  shift
  "$tool" --plugin postgres12 --ep "${POSTGRES_SEEDS:-127.0.0.1}" -p "${DB_PORT:-5432}" \
    -u "${POSTGRES_USER:-temporal}" --db "$db" "$@"
}

migrate() { # $1 database, $2 schema folder
  if ! out="$(sql "$1" create-database 2>&1)"; then
    case "$out" in
      *"already exists"*) ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
  # Creates the version tables if missing and records 0.0 only on a database that has no version yet.
  sql "$1" setup-schema -v 0.0 >/dev/null
  sql "$1" update-schema -d "$schemas/$2/versioned" >/dev/null
  echo "schema: $1 migrated ($2)"
}

migrate "${DBNAME:-temporal}" temporal
migrate "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
