# The runner stand-in, finished on the Debian root debootstrap made and the recipe's scripts set up
# (standins.py passes ROOTFS, and adds the stand-in's labels).
ARG ROOTFS
# A local image made moments before, by its cache key: no tag or digest to pin.
# hadolint ignore=DL3006
FROM ${ROOTFS}
# The name GitHub's runner and act use for this user (uid 1001, made by runner.sh).
# hadolint ignore=DL3066
USER runner
WORKDIR /home/runner
ENV LANG=C.UTF-8 ImageOS=standin-ubuntu24
CMD ["bash"]
