#!/usr/bin/env bash
# Every static check, one tool after another (ruff and mypy read pyproject.toml); all run even
# when one fails, and the exit code says whether any did. With GITHUB_STEP_SUMMARY set, a Markdown table of findings is appended.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export PATH="$PWD/.venv/bin:$PATH"

mapfile -t dockerfiles < <(git ls-files --cached --others --exclude-standard -- '*Dockerfile')
mapfile -t scripts < <(git ls-files --cached --others --exclude-standard -- '*.sh' .ci/run)
mapfile -t workflows < <(git ls-files --cached --others --exclude-standard -- '.github/workflows/*.yml')
mapfile -t composefiles < <(git ls-files --cached --others --exclude-standard -- 'task*/docker-compose.yml')
mapfile -t stackfiles < <(git ls-files --cached --others --exclude-standard -- 'task*/docker-stack.yml')
mapfile -t nginxconfs < <(git ls-files --cached --others --exclude-standard -- 'task*/*.conf' 'task*/*/*.conf' | grep -v nginx.conf)

rows=()
failed=0
check() {  # check NAME FILES-COUNT COMMAND...
  local name=$1 count=$2; shift 2
  local out status
  out=$("$@" 2>&1); status=$?
  if [ $status -eq 0 ]; then
    printf '%-18s ok      (%s files)\n' "$name" "$count"
    rows+=("| $name | $count | ✅ clean |")
  else
    printf '%-18s FAILED  (%s files)\n%s\n' "$name" "$count" "$out"
    rows+=("| $name | $count | ❌ $(printf '%s' "$out" | grep -c .) finding line(s) |")
    failed=1
  fi
}

# shellcheck disable=SC2329  # called through check()
compose_config() {
  local file status=0
  for file in "$@"; do
    docker compose -f "$file" config -q || { echo "in $file"; status=1; }
  done
  return "$status"
}

# Swarm stack files, parsed by the same loader as `docker stack deploy` (no swarm needed).
# shellcheck disable=SC2329  # called through check()
stack_config() {
  local file status=0
  for file in "$@"; do
    docker stack config --compose-file "$file" >/dev/null || { echo "in $file"; status=1; }
  done
  return "$status"
}

# Each nginx site/proxy config, checked together with its folder's main nginx.conf.
# shellcheck disable=SC2329  # called through check()
gixy_all() {
  local conf status=0 tmp
  for conf in "$@"; do
    tmp=$(mktemp -d)
    sed "s#include /etc/nginx/\(conf.d\|live\)/\*.conf;#include $PWD/$conf;#; s#include /etc/nginx/mime.types;##" \
      "$(dirname "$conf")/nginx.conf" > "$tmp/nginx.conf"
    gixy "$tmp/nginx.conf" >"$tmp/out" 2>&1 || { echo "== $conf"; cat "$tmp/out"; status=1; }
    rm -rf "$tmp"
  done
  return "$status"
}

mapfile -t pythonfiles < <(git ls-files --cached --others --exclude-standard -- '*.py')
check ruff "${#pythonfiles[@]}" ruff check --quiet .
check ruff-format "${#pythonfiles[@]}" ruff format --check --quiet .
check mypy "$(git ls-files --cached --others --exclude-standard -- 'src/*.py' 'loadtest/*.py' | wc -l)" mypy
check locks "$(git ls-files --cached --others --exclude-standard -- '*requirements*.in' | wc -l)" python -m softy_pinko_docker lock check
check hadolint "${#dockerfiles[@]}" hadolint "${dockerfiles[@]}"
check shellcheck "${#scripts[@]}" shellcheck "${scripts[@]}"
if [ ${#workflows[@]} -gt 0 ]; then
  # .github/zizmor.yml turns off one audit that conflicts with act (`uses: ./...`).
  check zizmor "${#workflows[@]}" zizmor --offline --no-progress .github
  check workflow-schema "${#workflows[@]}" check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
fi
check compose-config "${#composefiles[@]}" compose_config "${composefiles[@]}"
check stack-config "${#stackfiles[@]}" stack_config "${stackfiles[@]}"
check gixy "${#nginxconfs[@]}" gixy_all "${nginxconfs[@]}"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo "### Lint"
    echo
    echo "| tool | files | result |"
    echo "|---|---:|---|"
    printf '%s\n' "${rows[@]}"
    echo
  } >> "$GITHUB_STEP_SUMMARY"
fi
exit $failed
