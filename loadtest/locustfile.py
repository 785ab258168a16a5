"""`locust -f loadtest` from a checkout. The load test is part of the package
(src/softy_pinko_docker/loadtest/), where the checker runs it too; this file hands Locust its
users and its event hooks.

    locust -f loadtest                                    # web UI on http://localhost:8089
    locust -f loadtest --config loadtest/locust.conf      # headless, what `make loadtest` runs
"""

from softy_pinko_docker.loadtest.locustfile import *  # noqa: F403
