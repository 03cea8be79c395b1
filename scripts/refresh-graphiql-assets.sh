#!/usr/bin/env bash
# Re-vendor the GraphiQL UI into api/assets/graphiql/ so the server can serve it
# without any CDN (production hosts may have no outbound internet).
# Only the npm registry is needed. Bump the versions here, re-run, commit the result.
set -euo pipefail

GRAPHIQL_VERSION=4.1.2
REACT_VERSION=18.3.1 # GraphiQL's UMD bundle expects the React 18 UMD globals; React 19 ships no UMD builds.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/api/assets/graphiql"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# `npm pack` fetches the exact published tarballs without running install scripts.
(cd "$work" && npm pack --silent \
  "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null)

unpack() { mkdir -p "$work/$1" && tar -xzf "$work/$1-$2.tgz" -C "$work/$1" --strip-components=1; }
unpack graphiql "$GRAPHIQL_VERSION"
unpack react "$REACT_VERSION"
unpack react-dom "$REACT_VERSION"

mkdir -p "$dest"
# graphiql 4.x: dist/index.umd.js is the UMD bundle (it also ships as graphiql.min.js at
# the package root); it bundles graphql-js and the graphql-ws client and reads
# window.React / window.ReactDOM.
install -m 0644 "$work/graphiql/dist/index.umd.js"            "$dest/graphiql.min.js"
install -m 0644 "$work/graphiql/dist/style.css"               "$dest/graphiql.min.css"
install -m 0644 "$work/react/umd/react.production.min.js"     "$dest/react.production.min.js"
install -m 0644 "$work/react-dom/umd/react-dom.production.min.js" "$dest/react-dom.production.min.js"
install -m 0644 "$work/graphiql/LICENSE"                      "$dest/LICENSE.graphiql"
install -m 0644 "$work/react/LICENSE"                         "$dest/LICENSE.react"
install -m 0644 "$work/react-dom/LICENSE"                     "$dest/LICENSE.react-dom"

# Fail loudly if a future version changes the global API index.html relies on.
grep -q 'createFetcher' "$dest/graphiql.min.js" \
  || { echo "error: graphiql bundle no longer exposes createFetcher" >&2; exit 1; }

echo "GraphiQL $GRAPHIQL_VERSION + React $REACT_VERSION assets written to ${dest#"$repo_root"/}:"
ls -l "$dest"
