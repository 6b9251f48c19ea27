#!/usr/bin/env bash
# Runs every Go fuzz target of the module (each `func FuzzXxx(f *testing.F)` in a
# _test.go file), one at a time for the given time each: `go test -fuzz` takes one
# target per run. Usage: scripts/fuzz.sh [time] (default $FUZZTIME, else 1m), with
# FUZZPARALLEL workers (default 2). A failing target leaves its input under the
# package's testdata/fuzz/<target>/ (commit it with the fix: it then runs with every
# go test as a regression seed); the others still run, and the script fails at the end.
set -euo pipefail

# All in one function, read whole before it runs: the script may be edited meanwhile.
main() {
	fuzztime=${1:-${FUZZTIME:-1m}}
	parallel=${FUZZPARALLEL:-2}
	cd "$(dirname "$0")/.."

	# The test files: tracked and new (not ignored) ones in a git checkout, else all of
	# them but the fetched third-party tree.
	test_files() {
		if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
			git ls-files --cached --others --exclude-standard -- '*_test.go'
		else
			find . -name '*_test.go' -not -path './third_party/*' -not -path './data/*' | sed 's|^\./||'
		fi
	}

	# "<dir> <target>" for every fuzz target.
	targets=$(test_files |
		while read -r file; do
			[ -f "$file" ] || continue # deleted but not yet staged
			sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$file" | sed "s|^|$(dirname "$file") |"
		done | sort -u)
	if [ -z "$targets" ]; then
		echo "no fuzz targets"
		exit 0
	fi

	failed=()
	count=0
	start=$SECONDS
	while read -r dir name; do
		count=$((count + 1))
		echo "== $name (./$dir, $fuzztime)"
		if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel "$parallel" "./$dir" </dev/null; then
			failed+=("$name (./$dir)")
		fi
	done <<<"$targets"

	echo "fuzzed $count targets for $fuzztime each in $((SECONDS - start))s"
	if [ ${#failed[@]} -gt 0 ]; then
		printf 'FAIL %s\n' "${failed[@]}"
		exit 1
	fi
}

main "$@"
