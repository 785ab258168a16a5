"""Softy-Pinko back-end: a Flask app factory serving the curriculum's ``/api/hello``.

From task3 on, the page on http://localhost:9000 calls this API on another origin
(http://localhost:5252), so responses carry CORS headers for exactly that origin.
"""

from __future__ import annotations

import json
import logging
import os

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    # A hello API takes no request bodies: anything larger than this is refused with 413.
    app.config.update(
        MAX_CONTENT_LENGTH=1024,
        # The one origin allowed to read responses; never "*".
        CORS_ORIGIN=os.environ.get("CORS_ORIGIN", "http://localhost:9000"),
    )
    app.config.update(config or {})

    @app.after_request
    def cors(response: Response) -> Response:
        if request.headers.get("Origin") == app.config["CORS_ORIGIN"]:
            response.headers["Access-Control-Allow-Origin"] = app.config["CORS_ORIGIN"]
        # Caches must keep one copy per Origin, since the header depends on it.
        response.vary.add("Origin")
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
        log.error("unhandled %s: %s", type(error).__name__, error)
        return http_error(InternalServerError())

    return app
