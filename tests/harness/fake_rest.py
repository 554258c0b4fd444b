"""The HTTP plumbing the fake automation controller and the fake EDA controller share: a threaded
loopback server on a free port, Bearer-token auth, JSON in and out, and a record of every request.

Each fake subclasses `FakeRestServer` and implements `route(request) -> Response`; the record
(`requests`) is what tests assert on ("the playbook created X with these fields", "check mode sent
no write"). Secrets never appear in the record's headers: `Authorization` is stored as whether it
was accepted, not as its value.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from harness.ports import free_port

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Request:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: object
    authorized: bool


@dataclass
class Response:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raised by a route to answer with `status` and a JSON (or text) body."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def now() -> str:
    """An ISO 8601 UTC timestamp as Django REST framework renders it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def paginate(items: list[dict], query: dict[str, str], path: str) -> dict:
    """A Django REST framework page: `count`, `next`, `previous`, `results` (`page`, `page_size`)."""
    size = int(query.get("page_size", 25))
    page = int(query.get("page", 1))
    start = (page - 1) * size
    results = items[start : start + size]
    more = start + size < len(items)
    return {
        "count": len(items),
        "next": f"{path}?page={page + 1}&page_size={size}" if more else None,
        "previous": f"{path}?page={page - 1}&page_size={size}" if page > 1 else None,
        "results": results,
    }


class FakeRestServer:
    """A threaded HTTP server on 127.0.0.1 that checks `Authorization: Bearer <token>` and hands
    every request to `route`. Start it with `with Fake(...) as server:` or `start()`/`stop()`."""

    #: Extra headers on every response (e.g. the controller's product name and version).
    response_headers: dict[str, str] = {}

    def __init__(self, token: str) -> None:
        self.token = token
        self.port = free_port()
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, request: Request) -> Response:  # pragma: no cover - every fake overrides it
        raise NotImplementedError

    def writes(self) -> list[Request]:
        """Every request that could change something (POST, PUT, PATCH, DELETE)."""
        return [r for r in self.requests if r.method in WRITE_METHODS]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        authorized = handler.headers.get("Authorization") == f"Bearer {self.token}"
        request = Request(handler.command, parts.path, query, body, authorized)
        with self.lock:
            self.requests.append(request)
            if not authorized:
                response = Response(401, {"detail": "Authentication credentials were not provided."})
            else:
                try:
                    response = self.route(request)
                except HttpError as err:
                    response = Response(err.status, err.body)
                except Exception as err:  # a fake's bug must show up as a 500, not hang the client
                    response = Response(500, {"detail": f"fake server error: {err!r}"})
        payload = b"" if response.body is None else (
            response.body.encode() if isinstance(response.body, str) else json.dumps(response.body).encode()
        )
        handler.send_response(response.status)
        for name, value in {**self.response_headers, **response.headers}.items():
            handler.send_header(name, value)
        if payload:
            kind = "text/plain" if isinstance(response.body, str) else "application/json"
            handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if payload and handler.command != "HEAD":
            handler.wfile.write(payload)

    def start(self) -> FakeRestServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # the record replaces the access log
                pass

            def do_GET(self) -> None:
                fake._handle(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
