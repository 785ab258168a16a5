"""gunicorn settings for a small container (about half a CPU and 128 MB).

Two worker processes, each with four threads (gthread): a worker stuck on one request still
leaves the other serving, threads keep idle keep-alive connections cheap, and the footprint stays
near 60 MB. Override with WEB_CONCURRENCY / GUNICORN_THREADS for a larger container.
"""

import os

wsgi_app = "api:create_app()"
bind = "0.0.0.0:5252"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Idle keep-alive is longer here than on any proxy in front (30 s), so the proxy always closes
# an idle connection first and never sends a request into one gunicorn is closing.
keepalive = 75
# SIGTERM: stop accepting, finish in-flight requests for up to 10 s, then exit.
graceful_timeout = 10
timeout = 30
# Heartbeat files on tmpfs rather than the container's (possibly read-only) filesystem.
worker_tmp_dir = "/dev/shm"
# No runtime control socket: nothing in the container manages gunicorn but its signals.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
