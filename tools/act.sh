#!/usr/bin/env bash
# Runs the GitHub Actions workflow locally with act, offline: .actrc maps ubuntu-latest to this
# host (act's self-hosted mode), so no runner image is pulled and `make` does the work, as on
# GitHub. Extra arguments go to act (e.g. `tools/act.sh -j lint`). Prints each job's duration.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$(date +%s)
# Separate jobs one at a time (they build images and run stacks, on 2 cores); act still runs a
# matrix's entries side by side, each in its own Compose project.
status=0
act --concurrent-jobs 1 "$@" 2>&1 | while IFS= read -r line; do
  printf '%s %s\n' "$(date +%s)" "$line"
done | tee "$log" | cut -d' ' -f2- || status=$?

echo
echo "act: job durations"
# The first and last line of each job ("[CI/smoke-3] ...") bound its run time.
awk '{ line = substr($0, index($0, " ") + 1) }
     substr(line, 1, 1) == "[" { job = substr(line, 1, index(line, "]")); gsub(/ +]/, "]", job)
                                 if (!(job in first)) { first[job] = $1; order[n++] = job }
                                 last[job] = $1 }
     / Job (succeeded|failed)/ { result[job] = ($0 ~ /succeeded/) ? "succeeded" : "FAILED" }
     END { for (i = 0; i < n; i++) { j = order[i]; printf "  %-16s %4ds  %s\n", j, last[j] - first[j], result[j] } }' "$log"
echo "  total: $(( $(date +%s) - started ))s"
grep -q ' Job failed' "$log" && status=1
exit "$status"
