#!/bin/sh
# The proxy's entrypoint. Nginx reads its site config from /etc/nginx/live, a volume in
# docker-compose.yml, rather than from conf.d, where this image keeps its own copy (the
# curriculum's path). That lets `make up` apply a proxy.conf change to the running proxy with
# `nginx -s reload`, which keeps the listening socket, instead of recreating the container.
# The config always comes from an image, never from the host's working tree:
#   live-config COMMAND...     the container's start. A new container first copies in this
#                              image's config; a restarted one keeps what was last installed.
#                              Then it runs COMMAND (Nginx).
#   live-config install ID     copy this image's config in and record the image ID. `make up`
#                              runs this in a one-off container of the new image, then reloads.
set -eu
live=/etc/nginx/live

install_config() {
    for file in /etc/nginx/conf.d/*.conf; do
        name=$(basename "$file")
        cp "$file" "$live/.$name.new"
        mv "$live/.$name.new" "$live/$name"  # a rename: Nginx never reads a half-written file
    done
    for file in "$live"/*.conf; do
        [ -e "$file" ] || continue
        [ -e "/etc/nginx/conf.d/$(basename "$file")" ] || rm -f "$file"
    done
}

if [ ! -w "$live" ]; then
    echo "live-config: $live is not writable by uid $(id -u): mount a volume there" \
        "(docker-compose.yml does), or run the container without --read-only" >&2
    exit 1
fi
if [ "${1:-}" = install ]; then
    image=${2:?usage: live-config install IMAGE_ID}
    install_config
    printf '%s\n' "$image" > "$live/.image"
    exit 0
fi
# The container's own ID, from the source of its /etc/hostname mount (Docker keeps that file
# under /var/lib/docker/containers/ID/), tells a new container from a restarted one even where
# a hostname is set. A volume that outlived its container is refreshed from the new image.
container=$(sed -n 's#.*/containers/\([0-9a-f]\{64\}\)/hostname /etc/hostname .*#\1#p' \
    /proc/self/mountinfo)
container=${container:-$(cat /etc/hostname)}
if [ "$(cat "$live/.container" 2>/dev/null || true)" != "$container" ]; then
    install_config
    rm -f "$live/.image"
    printf '%s\n' "$container" > "$live/.container"
fi
exec "$@"
