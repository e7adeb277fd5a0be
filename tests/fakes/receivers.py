"""Where notices arrive in tests: a JSON webhook receiver (apprise ``json://``) and an SMTP
server (aiosmtpd, apprise ``mailto://``), both on 127.0.0.1 at a free port."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Self

from .server import FakeServer, Request, Response, json_response


def free_port() -> int:
    """A port nothing listens on now (aiosmtpd wants one up front)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class FakeWebhook(FakeServer):
    """Takes apprise's JSON notifications: ``{"title", "message", "type", …}``."""

    name = "webhook"

    def handle(self, req: Request) -> Response:
        return json_response(200, {"ok": True})

    def messages(self, path: str = "/hook") -> list[dict[str, Any]]:
        return [r.json() for r in self.seen(path) if r.method == "POST"]

    def apprise_url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"


class FakeSmtp:
    """An SMTP server that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.controller: Any = None
        self.port = 0

    def start(self) -> Self:
        from aiosmtpd.controller import Controller

        fake = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = message_from_bytes(envelope.content, policy=policy.default)
                with fake.lock:
                    fake.messages.append(msg)  # type: ignore[arg-type]
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def apprise_url(self, to: str, *, sender: str = "crosspost@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={to}&mode=insecure"

    def bodies(self) -> list[str]:
        with self.lock:
            out = []
            for m in self.messages:
                part = m.get_body(("plain", "html"))
                out.append(f"{m['Subject']}\n{part.get_content() if part else ''}")
            return out
