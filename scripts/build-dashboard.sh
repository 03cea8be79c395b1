#!/usr/bin/env bash
# Rebuild the /dashboard page into api/assets/dashboard/ (committed, embedded in the binary:
# the Rust build never runs npm). Reproducible from dashboard/package-lock.json; only the npm
# registry is needed. Re-run after changing dashboard/ and commit the result.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/api/assets/dashboard"
cd "$repo_root/dashboard"

npm ci --no-audit --no-fund --loglevel=error
npm run build --silent

# The licences of what the bundle contains, beside it.
install -m 0644 node_modules/chart.js/LICENSE.md "$dest/LICENSE.chart.js.md"
install -m 0644 node_modules/@kurkle/color/LICENSE.md "$dest/LICENSE.kurkle-color.md"
install -m 0644 node_modules/graphql-ws/LICENSE.md "$dest/LICENSE.graphql-ws.md"

# The server embeds exactly these names (api/src/http/dashboard.rs).
for file in index.html assets/dashboard.js assets/dashboard.css; do
  [ -s "$dest/$file" ] || { echo "error: $file was not built" >&2; exit 1; }
done
if find "$dest" -name '*.map' | grep -q .; then echo "error: source maps in the bundle" >&2; exit 1; fi

echo "dashboard written to ${dest#"$repo_root"/}:"
ls -l "$dest" "$dest/assets"
