"""What one request may cost ``township serve``, enforced before anything is parsed (issue 12).

The limits are named here, once, and documented in ``sync/SPEC.md``; ``township serve`` exposes
the ones an office may need to tune. Two guards:

- ``BodyGuard`` (ASGI middleware) reads every request body itself: it refuses a declared or
  streamed size above the endpoint's cap (413), a body that stops arriving (408), and a body that
  would take the bytes buffered by all requests together above a budget (503, try again later) —
  so 20 unfinished 60 MB uploads hold at most the budget, not 1.2 GB. A client that goes away
  mid-upload is logged as one line, not a traceback.
- ``GuardedH11`` (uvicorn's h11 protocol) closes a connection whose request headers do not
  complete within ``header_timeout``: a connection that sends nothing, or its headers a byte at a
  time, does not hold a slot for ever. h11 itself caps the header size (``MAX_HEADER_BYTES``).

What it leaves to others: the bundle's own limits (``sync.bundle``), the apply semaphore
(``sync.hub.server``), uvicorn's connection limit (``limit_concurrency``, from ``township serve``).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from starlette.responses import JSONResponse
from uvicorn.protocols.http.h11_impl import H11Protocol

from sync.bundle import MAX_CIPHERTEXT, MAX_HEADER, json_depth

MAX_PUSH_BODY = MAX_CIPHERTEXT + MAX_HEADER + 1024  # one bundle, as on a stick
MAX_PULL_BODY = MAX_HEADER + 64 * 1024  # an empty bundle: header, chain heads, signature
MAX_SMALL_BODY = 16 * 1024  # enrolment JSON (a box is at most 2 KB) and anything else
MAX_HEADER_BYTES = 16 * 1024  # request line and headers (h11's incomplete-event limit)
MAX_JSON_DEPTH = 8  # enrolment requests are flat objects; a nesting bomb is refused before FastAPI parses it
BODY_LIMITS = {"/v1/push": MAX_PUSH_BODY, "/v1/pull": MAX_PULL_BODY}

log = logging.getLogger("uvicorn.error")  # configured by uvicorn: one line on stderr


@dataclass(frozen=True)
class ServeLimits:
    """The tunable limits of ``township serve`` (defaults for one modest PC serving a township)."""

    max_connections: int = 200  # uvicorn answers 503 above this many open connections
    max_applying: int = 2  # bundles verified, decrypted and applied at once (threads; SQLite has one writer)
    max_buffered: int = 256 * 1024 * 1024  # request bytes held by all unfinished requests together
    header_timeout: float = 10.0  # seconds for a request's headers to arrive
    body_timeout: float = 300.0  # seconds for a whole request body to arrive
    body_idle_timeout: float = 30.0  # seconds without a single byte of body
    keep_alive: int = 5  # seconds an idle connection stays open between requests


def problem(status: int, code: str, reason: str) -> JSONResponse:
    return JSONResponse({"error": code, "reason": reason}, status_code=status, headers={"Connection": "close"})


class BodyGuard:
    """Reads the request body within its limits and hands the app the whole of it, or answers
    itself with 408 / 413 / 503 and the app never runs."""

    def __init__(self, app, limits: ServeLimits):
        self.app = app
        self.limits = limits
        self.buffered = 0  # one event loop: no lock needed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = BODY_LIMITS.get(scope["path"], MAX_SMALL_BODY)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            return await problem(413, "too_large", f"请求超过大小上限({cap} 字节)")(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_timeout
        chunks: list[bytes] = []
        held = 0
        try:
            while True:
                wait = min(self.limits.body_idle_timeout, deadline - loop.time())
                try:
                    message = await asyncio.wait_for(receive(), timeout=max(wait, 0))
                except asyncio.TimeoutError:
                    log.warning("请求内容未按时送达,已断开:%s %s(已收 %d 字节)", _who(scope), scope["path"], held)
                    return await problem(408, "timeout", "请求内容长时间没有送达,已断开")(scope, receive, send)
                if message["type"] == "http.disconnect":
                    log.warning("对方在上传中断开:%s %s(已收 %d 字节)", _who(scope), scope["path"], held)
                    return
                chunk = message.get("body", b"")
                if held + len(chunk) > cap:
                    return await problem(413, "too_large", f"请求超过大小上限({cap} 字节)")(scope, receive, send)
                if self.buffered + len(chunk) > self.limits.max_buffered:
                    log.warning("同时上传的数据过多,暂缓:%s %s", _who(scope), scope["path"])
                    return await problem(503, "busy", "乡镇服务器正忙(同时上传的数据过多),稍后会自动重试")(scope, receive, send)
                self.buffered += len(chunk)
                held += len(chunk)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            chunks.clear()
            if scope["path"] not in BODY_LIMITS and json_depth(body) > MAX_JSON_DEPTH:
                return await problem(422, "malformed", "请求格式不对(嵌套过深)")(scope, receive, send)
            given = False

            async def replay():
                nonlocal given
                if not given:
                    given = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()
            await self.app(scope, replay, send)
        finally:
            self.buffered -= held


def _who(scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "?"


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers do not arrive in time."""

    header_timeout = ServeLimits.header_timeout  # set per server by ``guarded_h11``

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late, self.cycle)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_late(self, cycle_then) -> None:
        # No new request since the timer was armed: its headers never completed.
        if self.cycle is cycle_then and not self.transport.is_closing():
            log.warning("请求头未按时送达,已断开:%s", f"{self.client[0]}:{self.client[1]}" if self.client else "?")
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()
        if not self.transport.is_closing():
            self._arm()  # the next request on this kept-alive connection gets the same time

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_h11(header_timeout: float) -> type[GuardedH11]:
    return type("GuardedH11", (GuardedH11,), {"header_timeout": header_timeout})


def uvicorn_options(limits: ServeLimits) -> dict:
    """Keyword arguments for ``uvicorn.run`` that apply these limits."""
    return {"http": guarded_h11(limits.header_timeout), "limit_concurrency": limits.max_connections,
            "timeout_keep_alive": limits.keep_alive, "h11_max_incomplete_event_size": MAX_HEADER_BYTES}
