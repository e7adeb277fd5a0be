"""The key behind hashed confidential identifiers.

Client names should not sit in plain text in a profile that gets copied around, so profiles hold
keyed hashes (``crosspost guard add-confidential``). The key lives in the OS keyring, like every
other secret; it is only read when some persona actually has hashed entries.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .app import App

SERVICE = "crosspost/guard"
USERNAME = "confidential-key"


def guard_secret(app: App, *, create: bool = False) -> bytes | None:
    if not create and not any(p.guard.confidential_hashes for p in app.personas):
        return None
    from .credentials import get_secret, set_secret

    value = get_secret(SERVICE, USERNAME)
    if value is None:
        if not create:
            raise ConfigError(
                "profiles contain confidential_hashes but the guard key is not in the keyring",
                hint="restore it with 'crosspost guard import-key' from the machine that wrote "
                "the hashes, or re-add the names with 'crosspost guard add-confidential'",
            )
        value = secrets.token_hex(32)
        set_secret(SERVICE, USERNAME, value)
    return bytes.fromhex(value)
