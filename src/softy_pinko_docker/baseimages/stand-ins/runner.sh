#!/bin/sh
# runner: GitHub's runner user, with passwordless sudo.
# (Run inside the bootstrapped root with `sh -eu`, after the scripts before it.)
groupadd --gid 1001 runner
useradd --uid 1001 --gid runner --create-home --shell /bin/bash runner
echo 'runner ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/runner
chmod 0440 /etc/sudoers.d/runner
