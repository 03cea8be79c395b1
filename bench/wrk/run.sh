#!/usr/bin/env bash
# Cross-check of `bench ingest` with an independent load generator (wrk, Debian package `wrk`):
# a release `api` on a fresh database, one notebook, then wrk against REST and GraphQL.
#   bench/wrk/run.sh sqlite|postgres [seconds] [connections]
set -euo pipefail
backend=${1:-postgres}; seconds=${2:-10}; connections=${3:-64}
root=$(cd "$(dirname "$0")/../.." && pwd)
api="$root/target/release/api"
[ -x "$api" ] || { echo "build first: cargo build --release -p api" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }
dir=$(mktemp -d)
case "$backend" in
  sqlite) export DATABASE_URL="sqlite://$dir/analytics.sqlite?mode=rwc" ;;
  postgres)
    db="wrk_$(date +%s)"
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" ;;
  *) echo "backend: sqlite or postgres" >&2; exit 1 ;;
esac
export DATA_DIR="$dir" JWT_SECRET=bench-jwt-secret-bench-jwt-secret SECRET_SALT=bench-salt RUST_LOG=warn
export RATE_INGEST_STUDENT_PER_SEC=0 RATE_INGEST_IP_PER_SEC=0 RATE_USER_PER_SEC=0
"$api" demo-class --students 1 --cells 2 --events 4 --sessions 1 --notebook-id bench-notebook-0001 >/dev/null
"$api" serve --bind 127.0.0.1:18080 > "$dir/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true
  [ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.2; done
for path in /send/clickevent/cell /graphql; do
  echo "## $backend $path, $connections connections, ${seconds}s"
  wrk -t2 -c"$connections" -d1s -s "$root/bench/wrk/ingest.lua" "http://127.0.0.1:18080$path" >/dev/null
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$root/bench/wrk/ingest.lua" "http://127.0.0.1:18080$path" \
    | grep -E "Requests/sec|Latency|99%|50%|Non-2xx"
done
