"""Ship a change to a running stack without failing a request: `make up` on a stack that is up.

`docker compose up` recreates every container of a changed service at once; for task6's API
replicas that is seconds of 503s (BENCHMARKS.md, "Shipping a change"). Here each service goes
its own way, one service after the other, the proxy last:

- **Behind the proxy, no host port of its own** (back-end, front-end): rolled one container at a
  time, like Swarm's `order: start-first` or a Kubernetes RollingUpdate with `maxUnavailable: 0`.
  A new container is created beside the old ones and started *outside* the service's DNS name. It
  joins the name only once its healthcheck passes and it has answered a real request sent to it
  directly from the proxy's side of the network, so the proxy never sends it a request it cannot
  answer; then a request through the proxy must reach it and succeed. Only then is one old
  container stopped gracefully: SIGTERM, it finishes what it is serving, and the proxy retries
  the idempotent requests that meet a closed door on the others. Scaling goes the same way.
- **The proxy**: an image that differs from the running one only in its last layer, the site
  config (task6/proxy/live-config.sh), is applied in place: the config is checked with
  `nginx -t` in a one-off container of the new image, installed by another, and loaded with
  `nginx -s reload`, which keeps the listening socket. Any other change recreates the proxy,
  which cuts the connections open to it; its config is checked first all the same.
- **A service that publishes a host port** (task4) cannot run two containers at once: Compose
  recreates it.
- **A proxy that resolves its upstreams only when it loads its config** (task5) is reloaded
  whenever a container joins or leaves.

When a new container never turns healthy or fails its requests, it is removed, containers
already replaced are rolled back to the previous image, the image tag names the running image
again, and DeployError says which service and why in one line.

- wanted.py        what each service should run; the deploy's errors
- proxy.py         the running proxy: its config, workers, reloads, and what reaches what
- rollout.py       the deploy itself, service by service, container by container
- proxy_change.py  a change to the proxy: a reload when only its site config changed
"""
