#!/bin/sh
# ubuntu-jammy and python: a system-wide pip install works, as on those images.
# (Run inside the bootstrapped root with `sh -eu`, after the scripts before it.)
echo 'path-exclude=/usr/lib/python3*/EXTERNALLY-MANAGED'     > /etc/dpkg/dpkg.cfg.d/not-externally-managed
rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
