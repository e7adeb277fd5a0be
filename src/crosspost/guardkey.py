"""The key behind hashed confidential identifiers.

Client names should not sit in plain text in a profile that gets copied around, so profiles hold
keyed hashes (``crosspost guard add-confidential``). The key lives in the OS keyring, like every
other secret; the guard only reads it when some persona actually has hashed entries.

The audit log uses the same key (:func:`audit_secret`) for its keyed hashes of matched text and
its signatures, so a record of a hashed client name carries that name's profile entry.
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
                hint="on the machine that wrote the hashes run 'crosspost guard export-key' and "
                "pipe it into 'crosspost guard import-key' here, or re-add the names with "
                "'crosspost guard add-confidential'",
            )
        value = secrets.token_hex(32)
        set_secret(SERVICE, USERNAME, value)
    return bytes.fromhex(value)


def audit_secret(app: App, *, create: bool = True) -> bytes | None:
    """:func:`require_audit_secret`, or None when there is no key to be had.

    For writing records and verifying: a missing keyring is no reason to lose the record of a
    blocked post. The record is then written without a hash (never with the text), and
    ``crosspost audit --verify`` says which signatures it could not check.
    """
    try:
        return require_audit_secret(app, create=create)
    except ConfigError:
        return None


def require_audit_secret(app: App, *, create: bool = True) -> bytes:
    """The guard key, for the audit log's keyed hashes and signatures.

    Created on first use (``create``) unless profiles hold hashes already: those were made
    under a key that must be restored, not replaced.
    """
    from .credentials import get_secret, set_secret

    value = get_secret(SERVICE, USERNAME)
    if value is None:
        if not create or any(p.guard.confidential_hashes for p in app.personas):
            raise ConfigError(
                "the guard key is not in the keyring",
                hint="on the machine that wrote the audit log run 'crosspost guard export-key' "
                "and pipe it into 'crosspost guard import-key' here",
            )
        value = secrets.token_hex(32)
        set_secret(SERVICE, USERNAME, value)
    return bytes.fromhex(value)


def parse_key(text: str) -> str:
    """A guard key as ``guard export-key`` prints it (64 hex digits), or a UsageError."""
    from .errors import UsageError

    value = text.strip().lower()
    try:
        ok = len(bytes.fromhex(value)) == 32
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(
            "that is not a guard key: expected the 64 hexadecimal digits 'crosspost guard "
            "export-key' prints",
            hint="crosspost guard export-key | ssh server crosspost guard import-key",
        )
    return value
