"""gunicorn settings for a small container (about half a CPU and 128 MB).

Two worker processes, each with four threads (gthread): a worker stuck on one request still
leaves the other serving, threads keep idle keep-alive connections cheap, and the footprint stays
near 60 MB. Override with WEB_CONCURRENCY / GUNICORN_THREADS for a larger container.

Why these numbers (`make bench`, BENCHMARKS.md): two processes because the GIL lets one Python
process use one core at most, and an unrestricted replica on a 2-core host should be able to
use both; not more, because the replica shares those cores with the proxy and the other
replicas, and capacity is added by replicas (task6), not by processes inside one. gthread,
because the proxy keeps connections to every replica open (upstream keep-alive) and so does a
direct client: a sync worker would close each one after a single response. Four threads are
plenty for a handler that never waits on I/O; more only contend for the GIL.
"""

import os

wsgi_app = "api:create_app()"
bind = "0.0.0.0:5252"
# The proxy in front sets X-Forwarded-Proto; trust it from any address on the private network.
forwarded_allow_ips = "*"
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
# The client (from the proxy's X-Forwarded-For) and the request id the API echoed.
access_log_format = (
    '%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
)


# --- One write per response ----------------------------------------------------------------
# gunicorn writes a response's head and its body in two system calls. A replica killed between
# them (`docker kill` under load) leaves the proxy holding a head with no body: it has already
# answered the client, so it cannot retry on another replica, and the client sees a truncated
# response. Holding the head back and sending it with the first body bytes closes that window:
# a replica dies either before its one write (the proxy retries elsewhere) or after it.
from gunicorn import util  # noqa: E402
from gunicorn.http import wsgi  # noqa: E402

# sendfile() would write the body beside the held-back head; responses here are tiny anyway.
sendfile = False


def _hold_head(self):
    if self.headers_sent:
        return
    lines = self.default_headers() + [f"{k}: {v}\r\n" for k, v in self.headers]
    self._held_head = util.to_bytestring("{}\r\n".format("".join(lines)), "latin-1")
    self.headers_sent = True


def _flush_head(self):
    head, self._held_head = getattr(self, "_held_head", b""), b""
    if head:
        util.write(self.sock, head)


def _emit_body_with_head(self, data, _emit=wsgi.Response._emit_body):
    head = getattr(self, "_held_head", b"")
    if head and not self.chunked:
        self._held_head = b""
        util.write(self.sock, head + data)
        return
    _flush_head(self)
    _emit(self, data)


def _close_with_head(self, _close=wsgi.Response.close):
    if not self.headers_sent:
        self.send_headers()
    _flush_head(self)  # a response without body bytes (HEAD, 204, 304)
    _close(self)


# This file is read again on a reload (SIGHUP): patch once, never wrap the wrappers.
if not getattr(wsgi.Response, "_one_write", False):
    wsgi.Response.send_headers = _hold_head
    wsgi.Response._emit_body = _emit_body_with_head
    wsgi.Response.close = _close_with_head
    wsgi.Response._one_write = True
