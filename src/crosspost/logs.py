"""Logging for the daemon. Secrets never reach a log record: adapters never log them, and the
redaction filter below masks anything stored as a credential in case a library echoes it."""

from __future__ import annotations

import logging
import sys


class _Redact(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            masked = msg
            for s in self.secrets:
                if s and s in masked:
                    masked = masked.replace(s, "***")
            if masked != msg:
                record.msg, record.args = masked, ()
        return True


REDACT = _Redact()
_handler: logging.Handler | None = None


def register_secret(value: str) -> None:
    if len(value) >= 6:
        REDACT.secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret masked: for what reaches the terminal without
    going through a log record (an SDK's unexpected error in a report)."""
    for secret in REDACT.secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    return text


#: libraries that log request details, headers and tokens at DEBUG
NOISY = ("httpx", "httpcore", "urllib3", "requests_oauthlib", "oauthlib", "atproto")


def setup_logging(level: str) -> None:
    global _handler
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(REDACT)
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler
    root.setLevel(level)
    # HTTP and OAuth libraries log request details, headers and tokens at DEBUG: never let
    # them, whatever the level; the scheduler's per-job chatter only at DEBUG
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(
        logging.DEBUG if level == "DEBUG" else logging.WARNING
    )
