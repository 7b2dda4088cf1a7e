"""The POS hot routes (POST /v1/scans, POST /v1/redemptions) as plain ASGI, ahead of Litestar.

Why: on the store's 2-core box Litestar's per-request machinery (router, middleware stack,
connection and header objects, dependency injection, kwargs extraction, response objects)
cost about 150 µs of a scan's 370, more than reading the code, deciding the verdict and
sealing the event together. These two routes carry nearly all POS traffic, so they take a
short path: the token is found in the raw headers and checked against the authenticator's
cache, the body is decoded by msgspec straight into the route's request Struct, the same use
case the Litestar controller calls answers, and msgspec encodes the answer.

Behaviour stays Litestar's: whatever is unusual (no token, a token not checked recently, a
body that does not decode or validate, a body over the route's limit) goes to the Litestar
app untouched, with the body read so far replayed, and gets exactly the answer it always got
(401, 400, 413, ...). The Litestar controllers remain the documented (OpenAPI) path.

Each route times its short-path answers (`answer_time`: from the request reaching the edge to
the answer handed to the server; edge/telemetry.py), which is the edge's own share of what a
terminal waits. Requests handed to Litestar are the unusual ones and are not timed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from edge.errors import EdgeError
from edge.telemetry import LatencyHistogram
from edge.terminals.auth import bearer_token
from edge.terminals.store import TerminalAuthenticator

log = structlog.get_logger(__name__)

# (request body, terminal id) -> the 200 answer's JSON, or None: "not decodable here, let
# Litestar answer it". An EdgeError raised is answered as problem details.
PosHandler = Callable[[bytes, str], Awaitable[bytes | None]]


@dataclass(frozen=True, slots=True)
class PosRoute:
    handle: PosHandler
    max_body_bytes: int


_json = msgspec.json.Encoder()
_JSON = b"application/json"
_PROBLEM_JSON = b"application/problem+json"
# Litestar's answer to an unhandled exception, byte for byte.
_INTERNAL_ERROR = b'{"status_code":500,"detail":"Internal Server Error"}'


class PosFastPath:
    """ASGI app: the POS hot routes answered directly, everything else passed to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Mapping[str, PosRoute],
        authenticator: Callable[[], TerminalAuthenticator | None],
    ) -> None:
        self._app = app
        self._routes = dict(routes)
        self._authenticator = authenticator
        self.answer_time = {path: LatencyHistogram() for path in self._routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (
            self._routes.get(scope["path"])
            if scope["type"] == ScopeType.HTTP and scope["method"] == "POST"
            else None
        )
        if route is None:
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        terminal_id = self._recently_checked_terminal(scope)
        if terminal_id is None:  # Litestar's middleware checks it (SQLite) or refuses it
            await self._app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the terminal hung up before sending its body: nothing to answer
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > route.max_body_bytes:  # Litestar refuses it (413)
                await self._app(scope, _replay(b"".join(chunks), receive, more=True), send)
                return
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            answer = await route.handle(body, terminal_id)
        except EdgeError as exc:
            if exc.status_code >= 500:
                log.error("edge.request_failed", path=scope["path"], error=repr(exc))
            await _respond(send, exc.status_code, _json.encode(exc.problem()), _PROBLEM_JSON)
        except Exception:
            log.exception("edge.request_failed", path=scope["path"])
            await _respond(send, 500, _INTERNAL_ERROR, _JSON)
        else:
            if answer is None:  # a 400 in Litestar's words
                await self._app(scope, _replay(body, receive, more=False), send)
                return
            await _respond(send, 200, answer, _JSON)
        self.answer_time[scope["path"]].record(time.perf_counter() - started)

    def _recently_checked_terminal(self, scope: Scope) -> str | None:
        authenticator = self._authenticator()
        if authenticator is None:
            return None
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = bearer_token(value.decode("latin-1"))
                if token is None:
                    return None
                return authenticator.cached(token, now_monotonic=time.monotonic())
        return None


def _replay(body: bytes, receive: Receive, *, more: bool) -> Receive:
    """`receive` as if nothing had been read yet: the body read so far first."""
    replayed = False

    async def replay() -> ReceiveMessage:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        message: Any = {"type": "http.request", "body": body, "more_body": more}
        return message  # type: ignore[no-any-return]

    return replay


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
