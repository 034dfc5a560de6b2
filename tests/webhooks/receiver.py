"""A real HTTP webhook receiver on 127.0.0.1, in a thread, scriptable per request."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """``mode`` decides each answer: ``ok`` (204), a status code as text, ``hang``
    (answer after ``hang_seconds``), ``redirect`` (a 302 to ``redirect_to``)."""

    port: int = 0
    mode: str = "ok"
    hang_seconds: float = 2.0
    redirect_to: str = "http://127.0.0.1:1/elsewhere"
    received: list[Received] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                mode = receiver.mode
                with receiver.lock:
                    receiver.answered.append(mode)
                    if mode == "ok":
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        receiver.received.append(Received(self.path, headers, body))
                if mode == "hang":
                    time.sleep(receiver.hang_seconds)
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                else:
                    self.send_response(204 if mode in ("ok", "hang") else int(mode))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def unique(self, path: str = "/hook") -> list[Received]:
        """What arrived at ``path``, each webhook-id once (a receiver's dedup), in
        arrival order."""
        seen: dict[str, Received] = {}
        with self.lock:
            for item in self.received:
                if item.path == path:
                    seen.setdefault(item.webhook_id, item)
        return list(seen.values())

    def verified(self, secret: str, path: str = "/hook") -> list[dict[str, Any]]:
        """Every unique message, verified with the secret as a bank would."""
        hook = Webhook(secret)
        return [hook.verify(item.body, item.headers) for item in self.unique(path)]


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
