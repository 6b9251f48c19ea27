#!/usr/bin/env bash
# Compares proto/ with a git ref (default main) for breaking changes. buf's own git input
# cannot see the git-ignored third-party protos, so the ref is exported to a temporary
# folder, its imports are fetched there, and buf compares against that folder.
set -euo pipefail
ref=${1:-main}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$root" archive "$ref" | tar -x -C "$tmp"
if [ ! -d "$tmp/proto" ]; then echo "$ref has no proto/: nothing to compare"; exit 0; fi
"$tmp/scripts/fetch-protos.sh" >/dev/null
cd "$root"
go tool -modfile=tools/go.mod buf breaking --against "$tmp"
echo "no breaking changes against $ref"
