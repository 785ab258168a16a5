"""Softy-Pinko back-end: a Flask app factory serving the curriculum's ``/api/hello``.

From task5 on, the page and the API share one origin behind the reverse proxy, so there is no
CORS. The proxy tags each request with an ``X-Request-ID``; the API echoes it and logs it, so a
request can be followed from the proxy's log to the API's.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)
# What we accept as a caller's request id: short, printable, no spaces (safe to log and echo).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    # A hello API takes no request bodies: anything larger than this is refused with 413.
    app.config.update(MAX_CONTENT_LENGTH=1024)
    app.config.update(config or {})

    @app.before_request
    def request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        return response

    @app.get("/api/hello")
    def hello() -> Response:
        return Response("Hello, World!", mimetype="text/plain")

    @app.get("/api/health")
    def health() -> Response:
        return jsonify(status="ok")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # JSON for every HTTP error (404, 405, 413, ...), never Werkzeug's HTML page; the
        # error's own headers (Allow on a 405) are kept.
        response = error.get_response()
        response.set_data(json.dumps({"error": error.name.lower(), "status": error.code}))
        response.mimetype = "application/json"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        # One log line, no traceback to the client: the details stay on the server side.
        log.error(
            "unhandled %s: %s request_id=%s", type(error).__name__, error, g.get("request_id")
        )
        return http_error(InternalServerError())

    return app


if __name__ == "__main__":
    # The curriculum's way to start it, `python3 api.py`: Flask's development server on every
    # interface, port 5252. The image runs gunicorn instead (gunicorn.conf.py).
    create_app().run(host="0.0.0.0", port=5252)
