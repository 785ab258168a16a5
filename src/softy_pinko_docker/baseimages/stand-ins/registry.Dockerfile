# The registry stand-in, finished on the Debian root debootstrap made and the recipe's scripts set up
# (standins.py passes ROOTFS, and adds the stand-in's labels).
ARG ROOTFS
# A local image made moments before, by its cache key: no tag or digest to pin.
# hadolint ignore=DL3006
FROM ${ROOTFS}
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
