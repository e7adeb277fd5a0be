"""The exception tree.

Every error a user can cause carries the fix in its message, so the CLI can print one line and
pick the exit code without knowing where the error came from::

    CrosspostError                 exit 1 unless a subclass says otherwise
    ├── UsageError                 exit 2: bad arguments, times, files the user named
    │   ├── ConfigError            exit 2: config.toml / profiles/*.toml problems (all at once)
    │   └── EntryError             exit 2: unreadable or malformed entry file
    ├── StoreError                 exit 2: database unusable (e.g. written by a newer version)
    ├── NotFound                   exit 1: no such post / target
    ├── Refused                    exit 1: the operation is not allowed in the post's state
    ├── Blocked                    exit 1: the leak guard blocked the post
    └── PublishError               a delivery failed (used by the publisher, never printed raw)
        ├── TransientError         retry later (timeouts, 5xx, 429)
        └── PermanentError         retrying cannot help (401/403/422, duplicates)
"""

from __future__ import annotations


class CrosspostError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(CrosspostError):
    exit_code = 2


class ConfigError(UsageError):
    """Holds every problem found, so the user fixes them in one go."""

    def __init__(self, problems: list[str] | str, *, hint: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems), hint=hint)

    def __str__(self) -> str:
        if len(self.problems) == 1:
            body = self.problems[0]
        else:
            body = "configuration has problems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        return f"{body}\n  hint: {self.hint}" if self.hint else body


class EntryError(UsageError):
    pass


class StoreError(CrosspostError):
    exit_code = 2


class NotFound(CrosspostError):
    pass


class Refused(CrosspostError):
    pass


class Blocked(CrosspostError):
    pass


class PublishError(CrosspostError):
    pass


class TransientError(PublishError):
    """Worth retrying.

    ``maybe_sent`` says whether the platform may have created the post before failing (a read
    timeout, a 5xx after the request went out): the next attempt then first asks the platform
    (``lookup``) instead of posting again. ``retry_after`` is the platform's own wait, in
    seconds, when it gave one (429 with a reset time).
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        retry_after: float | None = None,
        maybe_sent: bool = True,
    ) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class PermanentError(PublishError):
    pass
