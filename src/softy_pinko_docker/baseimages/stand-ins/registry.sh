#!/bin/sh
# registry: the configuration registry:2 ships.
# (Run inside the bootstrapped root with `sh -eu`, after the scripts before it.)
mkdir -p /var/lib/registry /etc/docker/registry
cat > /etc/docker/registry/config.yml <<'YAML'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
YAML
