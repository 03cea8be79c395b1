#!/usr/bin/env bash
# Smoke-test the served GraphiQL page in a real (headless) browser:
#   scripts/check-graphiql.sh URL [SCREENSHOT.png]
#   e.g. scripts/check-graphiql.sh http://127.0.0.1:8000/graphql
# Passes only if the UI rendered AND introspection succeeded. curl alone can't tell:
# a missing asset, a wrong content type (refused under X-Content-Type-Options: nosniff) or a
# failing introspection all still return 200 for the HTML page.
set -euo pipefail

url="${1:?usage: $0 URL [SCREENSHOT.png]}"
shot="${2:-/tmp/graphiql.png}"
chromium=/usr/bin/chromium

fail() { echo "graphiql check: FAIL: $*" >&2; exit 1; }

if [[ ! -x $chromium ]]; then
  echo "installing chromium (Debian package)…" >&2
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
fi

# Give a precise message for the common case "server not up" instead of a Chrome error page.
if command -v curl >/dev/null; then
  # As a browser asks: without text/html, GET /graphql is a query (400 with none).
  curl -fsS -o /dev/null -H "Accept: text/html" "$url" || fail "GET $url did not succeed (is the server running?)"
fi

profile="$(mktemp -d)"
log="$(mktemp)"
dom="$(mktemp)"
trap 'rm -rf "$profile" "$log" "$dom"' EXIT

# Fresh profile + no background traffic: results must not depend on cached state or
# on the (absent) internet. Virtual time lets the page settle deterministically: it
# does not advance while requests (assets, introspection POST) are in flight.
run_chromium() {
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --disable-dev-shm-usage --user-data-dir="$profile" \
    --window-size=1400,900 --virtual-time-budget=10000 "$@" "$url" 2>>"$log"
}

run_chromium --dump-dom >"$dom" || { cat "$log" >&2; fail "chromium --dump-dom failed"; }
run_chromium --screenshot="$shot" >/dev/null || { cat "$log" >&2; fail "chromium --screenshot failed"; }
[[ -s $shot ]] || fail "no screenshot written to $shot"

grep -q 'class="graphiql-container"' "$dom" \
  || fail "GraphiQL did not render (no .graphiql-container): check that /graphiql/*.js|css load with JS/CSS content types"
grep -q 'graphiql-query-editor' "$dom" && grep -q 'class="CodeMirror ' "$dom" \
  || fail "GraphiQL rendered but the query editor (CodeMirror) is missing"

# Set by index.html's onSchemaChange callback, which GraphiQL only calls after an
# introspection response was turned into a schema. When introspection fails GraphiQL
# prints the error in the response pane instead, so show that text.
if ! grep -q 'data-graphiql-schema="loaded"' "$dom"; then
  response="$(grep -o 'graphiql-response.*' "$dom" | sed -e 's/<script.*//' -e 's#</pre>#\n#g' \
    -e 's/<[^>]*>//g' -e 's/&nbsp;/ /g' -e 's/^graphiql-response[^>]*>//' -e 's/^\xE2\x80\x8Bx//' | head -c 2000 || true)"
  fail "schema not loaded (introspection failed or timed out). Response pane: ${response:-<empty>}"
fi

echo "screenshot: $shot"
echo "graphiql check: ok"
