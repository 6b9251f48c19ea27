#!/usr/bin/env bash
# Copies the Swagger UI files that the gateway's /docs page needs from the npm package
# swagger-ui-dist into gateway/docs/assets, where they are embedded into the Go binary
# (see gateway/docs). The version and the tarball's integrity are pinned here; to upgrade,
# change both (`npm view swagger-ui-dist@VERSION dist.integrity`), run this script and
# commit the changed assets. gateway/docs/assets/init.js is ours and is left alone.
set -euo pipefail

version=5.35.0
integrity=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==

# Only what the page loads, plus the licence texts that must travel with it.
files=(
	swagger-ui-bundle.js
	swagger-ui.css
	LICENSE
	NOTICE
	swagger-ui-bundle.js.LICENSE.txt
)

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/gateway/docs/assets"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tarball=$(cd "$tmp" && npm pack --silent "swagger-ui-dist@$version")
tarball="$tmp/$tarball"

# node comes with npm, so it computes the digest in npm's own "sha512-<base64>" form.
got=$(node -e 'const c = require("crypto"), fs = require("fs");
process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$tarball")
if [[ "$got" != "$integrity" ]]; then
	echo "integrity mismatch for swagger-ui-dist@$version: got $got, want $integrity" >&2
	exit 1
fi

tar -xzf "$tarball" -C "$tmp" "${files[@]/#/package/}"

mkdir -p "$dest"
echo "swagger-ui-dist@$version -> ${dest#"$root"/}"
for f in "${files[@]}"; do
	install -m 0644 "$tmp/package/$f" "$dest/$f"
	printf '  %10d  %s\n' "$(wc -c <"$dest/$f")" "$f"
done
