"""A man in the middle for tests: an HTTP proxy on 127.0.0.1 between a station and the hub.

It records every byte of every request and response (request line, headers, body), and lets a
test rewrite JSON bodies on the way through or answer a request itself without forwarding it.
"""
from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

# on_request(path, body) -> None (forward unchanged) | ("forward", new_body) | ("answer", status, body)
OnRequest = Callable[[str, dict | None], tuple | None]
# on_response(path, status, body) -> None (unchanged) | new body
OnResponse = Callable[[str, int, dict | None], dict | None]


class Proxy:
    def __init__(self, upstream: str, on_request: OnRequest | None = None, on_response: OnResponse | None = None):
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)
        self.on_request, self.on_response = on_request, on_response
        self.captured = bytearray()
        self.paths: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                proxy._relay(self, b"")

            def do_POST(self):
                proxy._relay(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Proxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _record(self, data: bytes) -> None:
        with self._lock:
            self.captured += data

    def _relay(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        self._record(handler.raw_requestline + bytes(handler.headers) + body)
        self.paths.append(handler.path)
        parsed = _json(body, handler.headers.get("Content-Type"))
        decision = self.on_request(handler.path, parsed) if self.on_request else None
        if decision and decision[0] == "answer":
            return self._reply(handler, decision[1], json.dumps(decision[2]).encode(), "application/json")
        if decision and decision[0] == "forward":
            body = json.dumps(decision[1]).encode()
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        conn.request(handler.command, handler.path, body=body or None, headers={**headers, "Content-Length": str(len(body))})
        response = conn.getresponse()
        data, ctype = response.read(), response.getheader("Content-Type") or ""
        conn.close()
        if self.on_response:
            changed = self.on_response(handler.path, response.status, _json(data, ctype))
            if changed is not None:
                data = json.dumps(changed).encode()
        self._reply(handler, response.status, data, ctype)

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str) -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        self._record(head + data)
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _json(data: bytes, ctype: str | None) -> dict | None:
    if not data or "json" not in (ctype or ""):
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
