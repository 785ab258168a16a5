#!/usr/bin/env bash
# Runs the GitHub Actions workflow locally with act, offline. Prints each job's duration.
#   RUNNER=host (default)  .actrc maps ubuntu-24.04 to this host (act's self-hosted mode): no
#                          runner image, `make` does the work here, as root if you are root.
#   RUNNER=standin         every job runs in softy-pinko-runner:standin, a stand-in for GitHub's
#                          runner built offline (softy-pinko-docker bases runner): user
#                          `runner` with sudo, Python 3.13, the Docker CLI talking to this
#                          host's engine through its socket.
#   JOB=name               only that job (act -j); other arguments go to act as they are.
# How the stand-in's jobs reach what they start: act runs job containers on the host's network
# (its --network default), so a stack's port published on 127.0.0.1 is the job's 127.0.0.1 too;
# the engine's socket is mounted in (act's default) and the job's user joins its group; and the
# host's CA bundle is mounted over the container's, so the job trusts what this host trusts
# (a proxy with its own CA, for one: RUNNER_CA_BUNDLE names another bundle).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

# The pipeline is ci.yml; check.yml is the reusable workflow it calls (and a learner's calls).
args=(--concurrent-jobs 1 -W .github/workflows/ci.yml)
# The reusable check workflow uploads with actions/upload-artifact itself (a learner's repository
# has none of this one's local actions): under act a stand-in keeps the folder instead.
upload=$(grep -o 'actions/upload-artifact@[0-9a-f]\{40\}' .github/workflows/check.yml | head -1)
args+=(--local-repository "$upload=$PWD/.github/act/upload-artifact"
       --env "STAND_IN_ARTIFACTS=$PWD/reports/act-artifacts")
[ -n "${JOB:-}" ] && args+=(-j "$JOB")
case "${RUNNER:-host}" in
  host) ;;
  standin)
    .venv/bin/softy-pinko-docker bases runner
    socket=${DOCKER_HOST:-unix:///var/run/docker.sock}
    socket=${socket#unix://}
    [ -S "$socket" ] || { echo "error: RUNNER=standin needs the engine's local socket ($socket)" >&2; exit 1; }
    ca=${RUNNER_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
    args+=(-P "ubuntu-24.04=softy-pinko-runner:standin" --pull=false
           --container-options "--group-add $(stat -c %g "$socket") -v $ca:/etc/ssl/certs/ca-certificates.crt:ro")
    ;;
  *) echo "error: RUNNER is host or standin, not ${RUNNER}" >&2; exit 1 ;;
esac

log=$(mktemp)
# act keeps a volume for its tool cache in a job container; leave the engine as it was found.
toolcache_was_there=$(docker volume inspect act-toolcache >/dev/null 2>&1 && echo yes || true)
# shellcheck disable=SC2329  # run by the trap below
cleanup() {
  rm -f "$log"
  [ -n "$toolcache_was_there" ] || docker volume rm act-toolcache >/dev/null 2>&1 || true
}
trap cleanup EXIT
started=$(date +%s)
# Separate jobs one at a time (they build images and run stacks, on 2 cores); act still runs a
# matrix's entries side by side, each in its own Compose project.
status=0
act "${args[@]}" "$@" 2>&1 | while IFS= read -r line; do
  printf '%s %s\n' "$(date +%s)" "$line"
done | tee "$log" | cut -d' ' -f2- || status=$?

echo
echo "act: job durations (runner: ${RUNNER:-host})"
# The first and last line of each job ("[CI/sbom-3] ...") bound its run time.
awk '{ line = substr($0, index($0, " ") + 1) }
     substr(line, 1, 1) == "[" { job = substr(line, 1, index(line, "]")); gsub(/ +]/, "]", job)
                                 if (!(job in first)) { first[job] = $1; order[n++] = job }
                                 last[job] = $1 }
     / Job (succeeded|failed)/ { result[job] = ($0 ~ /succeeded/) ? "succeeded" : "FAILED" }
     END { for (i = 0; i < n; i++) { j = order[i]; printf "  %-16s %4ds  %s\n", j, last[j] - first[j], result[j] } }' "$log"
echo "  total: $(( $(date +%s) - started ))s"
grep -q ' Job failed' "$log" && status=1
exit "$status"
