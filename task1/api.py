"""Softy-Pinko back-end: a Flask app factory serving the curriculum's ``/api/hello``."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    # A hello API takes no request bodies: anything larger than this is refused with 413.
    app.config.update(MAX_CONTENT_LENGTH=1024)
    app.config.update(config or {})

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
        log.error("unhandled %s: %s", type(error).__name__, error)
        return http_error(InternalServerError())

    return app


if __name__ == "__main__":
    # The curriculum's way to start it, `python3 api.py`: Flask's development server on every
    # interface, port 5252. The image runs gunicorn instead (gunicorn.conf.py).
    create_app().run(host="0.0.0.0", port=5252)
