#!/bin/sh
# nginx: the official image's layout.
# (Run inside the bootstrapped root with `sh -eu`, after the scripts before it.)
# Reproduce the parts of the official image's layout this repo relies on:
# user nginx (uid/gid 101), conf.d included from nginx.conf, logs on stdout/stderr.
rm -f /etc/nginx/sites-enabled/default
groupadd --system --gid 101 nginx
useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin nginx
mkdir -p /var/cache/nginx /usr/share/nginx/html /docker-entrypoint.d
ln -sf /dev/stdout /var/log/nginx/access.log
ln -sf /dev/stderr /var/log/nginx/error.log
