# The ubuntu stand-in, finished on the Debian root debootstrap made and the recipe's scripts set up
# (standins.py passes ROOTFS, and adds the stand-in's labels).
ARG ROOTFS
# A local image made moments before, by its cache key: no tag or digest to pin.
# hadolint ignore=DL3006
FROM ${ROOTFS}
COPY wheels/ /opt/standin-wheels/
# pip, once a Dockerfile installs it, finds every package in the wheelhouse, never on the network.
RUN printf '[global]\nno-index = true\nfind-links = /opt/standin-wheels\n' > /etc/pip.conf
CMD ["/bin/bash"]
