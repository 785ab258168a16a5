"""Softy-Pinko back-end: a Flask app factory serving the curriculum's ``/api/hello``.

From task3 on, the page on http://localhost:9000 calls this API on another origin
(http://localhost:5252), so responses carry CORS headers (flask-cors) for exactly that origin.
"""

from __future__ import annotations

import json
import logging
import os

from flask import Flask, Response, jsonify
from flask_cors import CORS
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

    # flask-cors, as the curriculum asks: the API's answers may be read by the page's origin only.
    CORS(app, resources={r"/api/*": {"origins": [app.config["CORS_ORIGIN"]]}})

    @app.after_request
    def vary_on_origin(response: Response) -> Response:
        # flask-cors sends `Vary: Origin` only when several origins are allowed; with one, the
        # header is still there or not by Origin, so caches must keep one copy per Origin.
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


if __name__ == "__main__":
    # The curriculum's way to start it, `python3 api.py`: Flask's development server on every
    # interface, port 5252. The image runs gunicorn instead (gunicorn.conf.py).
    create_app().run(host="0.0.0.0", port=5252)
