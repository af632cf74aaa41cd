#!/usr/bin/env bash
# Fetch the front-end assets from the npm registry (via `npm pack`, by package
# name) and vendor them under static/vendor/ with the version in the file name.
# Records each file's sha256 in static/vendor/SHA256SUMS; `--check` verifies
# the committed files against it without fetching anything.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=static/vendor

if [[ "${1:-}" == "--check" ]]; then
  (cd "$vendor" && sha256sum --check --quiet SHA256SUMS)
  exit 0
fi

HTMX_VERSION=2.0.11
PICO_VERSION=2.1.1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "htmx.org@${HTMX_VERSION}" "@picocss/pico@${PICO_VERSION}" >/dev/null)
tar -xzf "$work/htmx.org-${HTMX_VERSION}.tgz" -C "$work" package/dist/htmx.min.js package/dist/htmx.js package/LICENSE
cp "$work/package/dist/htmx.min.js" "$vendor/htmx-${HTMX_VERSION}.min.js"
cp "$work/package/dist/htmx.js" "$vendor/htmx-${HTMX_VERSION}.js"
cp "$work/package/LICENSE" "$vendor/htmx-LICENSE"
rm -rf "$work/package"
tar -xzf "$work/picocss-pico-${PICO_VERSION}.tgz" -C "$work" package/css/pico.min.css package/LICENSE.md
cp "$work/package/css/pico.min.css" "$vendor/pico-${PICO_VERSION}.min.css"
cp "$work/package/LICENSE.md" "$vendor/pico-LICENSE.md"
(cd "$vendor" && sha256sum htmx-*.js pico-*.css > SHA256SUMS)
cat "$vendor/SHA256SUMS"
