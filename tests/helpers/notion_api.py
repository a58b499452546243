"""A real HTTP server on 127.0.0.1 that imitates `GET /v1/users/me` of the Notion API, for
`scan --verify` and the detect-secrets plugin's `verify()` (tests/test_verify.py, and the
never-leak matrix).

It records every request (path, method, headers, arrival time) and checks the headers; each
token it is sent picks a behaviour from a table (FakeNotion's docstring). Point the code
under test at it with `FakeNotion.env()` (NOTION_LEAKGUARD_API_URL, no proxy).
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_PATH = "/v1/users/me"
ELSEWHERE = "/elsewhere"
# An internal integration's bot user, shaped as developers.notion.com documents
# "Retrieve your token's bot user" (the owner of an internal integration is the workspace).
BOT_NAME = "Sync bot"
WORKSPACE_NAME = "Acme"
USER = {
    "object": "user",
    "id": "6794760a-1f15-45cd-9c65-0dfe42f5135a",
    "name": BOT_NAME,
    "avatar_url": None,
    "type": "bot",
    "bot": {
        "owner": {"type": "workspace", "workspace": True},
        "workspace_name": WORKSPACE_NAME,
    },
}
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass
class Hit:
    method: str
    path: str
    token: str | None  # what followed "Bearer "
    authorization: str | None
    version: str | None
    at: float  # time.monotonic() on arrival


@dataclass
class FakeNotion:
    """Behaviours, by token:

    live: 200 and a user object          invalid: 401            restricted: 403
    rate-limited: 429 with Retry-After: 1 on the first attempt, then 200
    flaky: 500 on the first two attempts, then 200               down: 503 always
    silent: accepts, never answers       malformed: 200, not JSON
    not-user: 200, JSON but not a user   redirect: 302 to /elsewhere (same server)
    slow: 200 after 0.3 s
    echo: 200 and a bot user whose name is the token itself and whose workspace name is
          the token base64-encoded (a hostile or broken server)

    A 200 answers with USER, or with `users[token]` when the test names one.
    retry-after:N: 429 with Retry-After: N on the first attempt, then 200
    retry-date:N: the same with an HTTP-date N seconds ahead
    """

    behaviours: dict[str, str] = field(default_factory=dict)
    default: str = "live"
    pick: Callable[[str], str] | None = None  # for a token `behaviours` does not name
    users: dict[str, Any] = field(default_factory=dict)  # the 200 answer, by token
    hits: list[Hit] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    # what the tests look at

    def env(self, url: str | None = None) -> dict[str, str]:
        """For the CLI (`invoke` or a subprocess): this server, and no proxy in between."""
        from notion_leakguard import verify  # not at import: conftest imports this module

        return {
            verify.API_ENV: url or self.url,
            **{name: "" for name in PROXY_VARS},
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
        }

    def api_hits(self) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == API_PATH]

    def requests(self) -> Counter[str | None]:
        """How many requests each token caused."""
        return Counter(h.token for h in self.api_hits())

    def arrivals(self, token: str) -> list[float]:
        return [h.at for h in self.api_hits() if h.token == token]

    def check(self) -> None:
        """Every request was a GET of /v1/users/me with the right headers."""
        with self.lock:
            problems = list(self.problems)
        assert problems == []

    # what the handler calls

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        authorization = request.headers.get("Authorization")
        token = None
        if authorization is not None and authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :]
        hit = Hit(
            request.command,
            request.path,
            token,
            authorization,
            request.headers.get("Notion-Version"),
            time.monotonic(),
        )
        if hit.authorization is None and hit.path not in (API_PATH, ELSEWHERE):
            # not from notion-leakguard (which always sends the key): a stray connection
            # from another program on this machine; answered, not counted
            with self.lock:
                self.foreign.append(hit.path[:80])
            return _send(request, 404, {"object": "error", "status": 404})
        with self.lock:
            self.hits.append(hit)
            attempt = sum(1 for h in self.hits if h.path == API_PATH and h.token == token)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        # A request is in flight until its answer starts: once the client has it, the client
        # may send its next request before this handler's thread has finished.
        answered = threading.Event()
        send_response = request.send_response

        def answering(*args: Any, **kwargs: Any) -> None:
            if not answered.is_set():
                answered.set()
                with self.lock:
                    self.in_flight -= 1
            send_response(*args, **kwargs)

        request.send_response = answering  # type: ignore[method-assign]
        try:
            self._answer(request, hit, attempt)
        finally:
            if not answered.is_set():
                answered.set()
                with self.lock:
                    self.in_flight -= 1

    def _problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)  # never a token: these are printed on failure

    def _answer(self, request: BaseHTTPRequestHandler, hit: Hit, attempt: int) -> None:
        if hit.path == ELSEWHERE:
            if hit.authorization is not None:
                self._problem("the redirect target received an Authorization header")
            else:
                self._problem("a redirect was followed")
            return _send(request, 200, USER)
        if hit.path != API_PATH:
            self._problem(f"unexpected path {hit.path!r}")
            return _send(request, 404, {"object": "error", "status": 404})
        if hit.method != "GET":
            self._problem(f"unexpected method {hit.method}")
        if hit.token is None or not hit.token.startswith(("ntn_", "secret_")):
            self._problem("Authorization is not `Bearer <integration token>`")
            return _send(request, 401, {"object": "error", "status": 401})
        from notion_leakguard import verify

        if hit.version != verify.NOTION_VERSION or verify.NOTION_VERSION != "2022-06-28":
            self._problem(f"Notion-Version is {hit.version!r}")
            return _send(request, 400, {"object": "error", "status": 400})
        kind = self.behaviours.get(hit.token) or (
            self.pick(hit.token) if self.pick is not None else self.default
        )
        name, _, argument = kind.partition(":")
        user = self.users.get(hit.token, USER)
        if name == "live":
            _send(request, 200, user)
        elif name == "invalid":
            _send(request, 401, {"object": "error", "status": 401, "code": "unauthorized"})
        elif name == "restricted":
            _send(request, 403, {"object": "error", "status": 403, "code": "restricted_resource"})
        elif name == "rate-limited":
            if attempt == 1:
                _send(request, 429, {"object": "error", "status": 429}, {"Retry-After": "1"})
            else:
                _send(request, 200, user)
        elif name == "retry-after":
            if attempt == 1:
                _send(request, 429, {"status": 429}, {"Retry-After": argument})
            else:
                _send(request, 200, user)
        elif name == "retry-date":
            if attempt == 1:
                when = formatdate(time.time() + float(argument), usegmt=True)
                _send(request, 429, {"status": 429}, {"Retry-After": when})
            else:
                _send(request, 200, user)
        elif name == "flaky":
            if attempt <= 2:
                _send(request, 500, {"object": "error", "status": 500})
            else:
                _send(request, 200, user)
        elif name == "down":
            _send(request, 503, {"object": "error", "status": 503})
        elif name == "silent":
            self.release.wait(15)  # accepted, never answered; let go at teardown
            request.close_connection = True
        elif name == "malformed":
            _send_raw(request, 200, b"<html>Service Unavailable</html", "text/html")
        elif name == "not-user":
            _send(request, 200, {"object": "list", "results": []})
        elif name == "redirect":
            request.send_response(302)
            request.send_header("Location", ELSEWHERE)
            request.send_header("Content-Length", "0")
            request.end_headers()
        elif name == "slow":
            time.sleep(0.3)
            _send(request, 200, user)
        elif name == "echo":
            encoded = base64.b64encode(hit.token.encode()).decode()
            bot = {"owner": {"type": "workspace", "workspace": True}, "workspace_name": encoded}
            _send(request, 200, {**USER, "name": hit.token, "bot": bot})
        else:  # pragma: no cover - a typo in a test
            self._problem(f"unknown behaviour {name}")
            _send(request, 500, {})


def _send(
    request: BaseHTTPRequestHandler,
    status: int,
    body: object,
    headers: dict[str, str] | None = None,
) -> None:
    _send_raw(request, status, json.dumps(body).encode(), "application/json", headers)


def _send_raw(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.api.handle(self)  # type: ignore[attr-defined]

    do_POST = do_HEAD = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass  # request lines would land in pytest's captured output


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


@contextlib.contextmanager
def serve(api: FakeNotion | None = None) -> Iterator[FakeNotion]:
    """Run `api` (a new FakeNotion by default) on a free port of 127.0.0.1 until the block
    ends; requests that never get an answer ("silent") are let go then."""
    api = api or FakeNotion()
    server = _Server(("127.0.0.1", 0), _Handler)
    # a connection that vanishes between select() and accept() must not block the loop
    # (and with it shutdown()): accept on a non-blocking socket fails instead, and
    # serve_forever carries on; accepted connections are blocking again (socket.accept)
    server.socket.setblocking(False)
    server.api = api  # type: ignore[attr-defined]
    api.port = server.server_address[1]
    api.url = f"http://127.0.0.1:{api.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield api
    finally:
        api.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
