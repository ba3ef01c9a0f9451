#!/usr/bin/env bash
# Re-fetch the docs page's assets (Swagger UI and Redoc) from the npm registry into
# app/static/docs/, so /docs and /redoc load nothing from a CDN. Reproducible: the versions
# and the tarballs' sha512 integrity (as npm publishes it) are pinned below and checked
# before anything is unpacked. To update, change a version, run `npm view PKG@VERSION
# dist.integrity`, paste the integrity, run this script, and update the versions table in
# app/static/docs/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SWAGGER_UI_VERSION=5.35.0
SWAGGER_UI_INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
REDOC_VERSION=2.5.4
REDOC_INTEGRITY=sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==

DEST=app/static/docs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch NAME VERSION INTEGRITY: download the tarball with npm, check it, unpack it.
fetch() {
  local name=$1 version=$2 integrity=$3 tarball actual
  tarball=$(cd "$work" && npm pack --silent "$name@$version")
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
  if [[ "$actual" != "$integrity" ]]; then
    echo "error: $name@$version has integrity $actual, expected $integrity" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  tar -xzf "$work/$tarball" -C "$work/$name" --strip-components=1
}

fetch swagger-ui-dist "$SWAGGER_UI_VERSION" "$SWAGGER_UI_INTEGRITY"
fetch redoc "$REDOC_VERSION" "$REDOC_INTEGRITY"

# Only what the pages load, plus the licences that must travel with it.
rm -rf "$DEST/swagger-ui" "$DEST/redoc"
mkdir -p "$DEST/swagger-ui" "$DEST/redoc"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css \
  favicon-32x32.png LICENSE NOTICE; do
  cp "$work/swagger-ui-dist/$file" "$DEST/swagger-ui/$file"
done
for file in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE; do
  cp "$work/redoc/$file" "$DEST/redoc/$(basename "$file")"
done
# Byte for byte as published (the source maps are left out; only developer tools ask),
# except for one patch: Redoc's sidebar shows a logo fetched from cdn.redoc.ly, with no
# option to turn it off. It becomes an empty inline image, so the page asks no other host.
logo='src:"https://cdn.redoc.ly/redoc/logo-mini.svg"'
if [[ $(grep -o -F "$logo" "$DEST/redoc/redoc.standalone.js" | wc -l) -ne 1 ]]; then
  echo "error: Redoc's CDN logo is not where this script expects it; check the new bundle" >&2
  exit 1
fi
sed -i -e "s|$logo|src:\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E\"|" \
  "$DEST/redoc/redoc.standalone.js"
echo "swagger-ui-dist@$SWAGGER_UI_VERSION and redoc@$REDOC_VERSION are in $DEST:"
(cd "$DEST" && sha256sum swagger-ui/* redoc/*)
