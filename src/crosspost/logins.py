"""When an account's login ends, read from what ``crosspost accounts login`` stored.

LinkedIn and Threads tokens expire (60 days; a LinkedIn refresh token after a year). A post due
after that fails with "credentials rejected" while the user is away; the expiry is known in
advance, so the daemon tells the persona and ``crosspost status`` reports it before it happens.
Which keyring fields hold the expiry is the platform spec's ``login_ends``; platforms whose
logins do not expire declare none and are never asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from . import credentials
from .errors import CrosspostError
from .platforms.registry import spec

if TYPE_CHECKING:
    from .profiles import Persona


@dataclass(frozen=True)
class LoginEnd:
    persona: str
    target: str
    platform: str
    ends_at: datetime


def login_command(persona: str, target: str) -> str:
    """The command that logs ``target`` in again (a blog is named by its persona)."""
    return f"'crosspost accounts login {target}" + (
        f" --persona {persona}'" if target == "blog" else "'"
    )


def login_end(persona: str, target: str, platform: str) -> datetime | None:
    """When the stored login of ``target`` ends; None when it does not expire or the expiry
    is not known. Raises :class:`CrosspostError` when the keyring cannot be read."""
    fields = spec(platform).login_ends
    if not fields:
        return None
    service = credentials.service_name(persona, target)
    for name in fields:
        value = credentials.get_secret(service, name)
        if not value:
            continue
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (ValueError, OverflowError, OSError):
            continue  # not a time: as good as unknown
    return None


def ending(personas: list[Persona], now: datetime, within: timedelta) -> list[LoginEnd]:
    """The logins that end before ``now + within`` (ended ones included), per persona; a
    keyring that cannot be read is skipped here (``crosspost status`` reports it)."""
    out = []
    for p in personas:
        for target, platform in p.targets():
            try:
                ends = login_end(p.name, target, platform)
            except CrosspostError:
                continue
            if ends is not None and ends <= now + within:
                out.append(LoginEnd(p.name, target, platform, ends))
    return out
