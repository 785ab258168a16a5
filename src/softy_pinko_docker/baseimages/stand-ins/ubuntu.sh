#!/bin/sh
# ubuntu: configured as the official image is, so images built on it have its size.
# (Run inside the bootstrapped root with `sh -eu`, after the scripts before it.)
# As the official image is configured (its /etc/apt/apt.conf.d/docker-* and the minimized image's
# /etc/dpkg/dpkg.cfg.d/excludes), so that an image built on the stand-in has the official's size:
# APT keeps no .deb files or package caches, fetches no translations, dpkg installs no docs.
clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
clean="$clean /var/cache/apt/*.bin || true"
cat > /etc/apt/apt.conf.d/docker-clean <<APT
DPkg::Post-Invoke { "$clean"; };
APT::Update::Post-Invoke { "$clean"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' > /etc/apt/apt.conf.d/docker-no-languages
cat > /etc/dpkg/dpkg.cfg.d/excludes <<'DPKG'
path-exclude=/usr/share/man/*
path-exclude=/usr/share/locale/*/LC_MESSAGES/*.mo
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/groff/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
DPKG
find /usr/share/doc -mindepth 2 ! -name copyright -delete 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/locale/*/LC_MESSAGES/*.mo
