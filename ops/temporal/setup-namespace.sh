#!/bin/sh
# Creates the namespace enrollflow runs in, sets its retention, and registers the search attributes
# its workflows are started with, with the `temporal` CLI. Safe to run on every start. Run by
# `npm run dev -- --engine cluster` (scripts/temporal/cluster.ts) and by docker-compose.yml's
# temporal-namespace service (admin-tools image): POSIX sh.
#   TEMPORAL_CLI        the CLI (default temporal on PATH)
#   TEMPORAL_ADDRESS    the frontend (default 127.0.0.1:7233)
#   TEMPORAL_NAMESPACE  default "default"
#   NAMESPACE_RETENTION how long closed workflows are kept, and so how long a redelivered payment is
#                       refused by workflow-ID uniqueness: 720h covers every provider's redelivery
#                       (REDELIVERY_HORIZON_HOURS); the worker refuses to start on a shorter one.
set -eu

cli="${TEMPORAL_CLI:-temporal}"
address="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${NAMESPACE_RETENTION:-720h}"

# A frontend that has just opened its port may still answer "unavailable": only "not found" means the
# namespace is missing; anything else is waited out (up to a minute) before giving up.
tries=0
created=no
until out="$("$cli" operator namespace describe --address "$address" --namespace "$namespace" 2>&1)"; do
  case "$out" in
    *"not found"*)
      "$cli" operator namespace create --address "$address" --namespace "$namespace" --retention "$retention" >/dev/null
      created=yes
      break
      ;;
  esac
  [ "$tries" -lt 60 ] || { echo "$out" >&2; exit 1; }
  tries=$((tries + 1))
  sleep 1
done
[ "$created" = yes ] ||
  "$cli" operator namespace update --address "$address" --namespace "$namespace" --retention "$retention" >/dev/null

# The names in src/workflows/messages.ts (searchAttributeRegistrations); a test keeps both equal. A
# namespace just created is unknown to the frontend until its namespace cache refreshes (seconds):
# "not found" is waited out.
for name in PaymentId PaymentProvider EnrollmentState PaymentSource; do
  tries=0
  until out="$("$cli" operator search-attribute create --address "$address" --namespace "$namespace" \
    --name "$name" --type Keyword 2>&1)"; do
    case "$out" in
      *"already exists"*) break ;;
      *"not found"*) [ "$tries" -lt 60 ] || { echo "$out" >&2; exit 1; } ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
    tries=$((tries + 1))
    sleep 1
  done
done
echo "namespace: $namespace (retention $retention, search attributes registered)"
