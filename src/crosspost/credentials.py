"""Secrets in the OS keyring, namespaced per persona: ``crosspost/<persona>/<account>``.

Nothing secret is ever written to config files, the database or logs. When no usable keyring
backend exists (a headless server), the error says what to install or configure.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from .errors import ConfigError, CrosspostError

HEADLESS_HINT = (
    "no usable keyring backend: on a desktop, unlock or install a Secret Service keyring "
    "(GNOME Keyring, KWallet); on a headless server, pip install keyrings.cryptfile and set "
    "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring with "
    "KEYRING_CRYPTFILE_PASSWORD (see the README, 'Credentials on a server')"
)


def service_name(persona: str, account: str) -> str:
    return f"crosspost/{persona}/{account}"


def _keyring() -> Any:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise ConfigError("cannot store or read credentials", hint=HEADLESS_HINT)
    _unlock_file_keyring(backend)
    return keyring


def _unlock_file_keyring(backend: object) -> None:
    """Encrypted file keyrings (keyrings.cryptfile) ask for their password on a terminal; a
    daemon has none, so it comes from ``KEYRING_CRYPTFILE_PASSWORD`` (e.g. a systemd
    credential, see systemd/crosspost.service)."""
    password = os.environ.get("KEYRING_CRYPTFILE_PASSWORD")
    if not password or type(backend).__name__ != "CryptFileKeyring":
        return
    if getattr(backend, "_keyring_key", None) is None:
        try:
            backend.keyring_key = password  # type: ignore[attr-defined]
        except ValueError as e:
            backend._keyring_key = None  # type: ignore[attr-defined] # ask again next time
            raise ConfigError(
                f"the encrypted keyring file could not be opened ({e})",
                hint="check KEYRING_CRYPTFILE_PASSWORD",
            ) from None


#: secrets already read, when the process asked to keep them: (service, field) -> (read at, value)
_KEPT: dict[tuple[str, str], tuple[float, str]] = {}
_KEEP_FOR = 0.0
_KEPT_LOCK = threading.Lock()


def keep_in_memory(seconds: float) -> None:
    """Keep secrets read from the keyring in this process for ``seconds`` (0: never).

    For the daemon, which needs an account's token for every delivery: keyring backends are
    slow per read (an encrypted file decrypts, Secret Service is a D-Bus round trip). A token
    changed by ``crosspost accounts login`` is read again after ``seconds`` at the latest, and
    at once after a delivery to that account failed (:func:`forget`)."""
    global _KEEP_FOR
    with _KEPT_LOCK:
        _KEEP_FOR = seconds
        _KEPT.clear()


def forget(target: str) -> None:
    """Drop kept secrets of ``target`` (of any persona): the next read asks the keyring."""
    suffix = f"/{target}"
    with _KEPT_LOCK:
        for key in [k for k in _KEPT if k[0].endswith(suffix)]:
            del _KEPT[key]


def get_secret(service: str, username: str) -> str | None:
    if _KEEP_FOR > 0:
        with _KEPT_LOCK:
            hit = _KEPT.get((service, username))
        if hit is not None and time.monotonic() - hit[0] < _KEEP_FOR:
            return hit[1]
    value = _read_secret(service, username)
    if value and _KEEP_FOR > 0:
        with _KEPT_LOCK:
            _KEPT[(service, username)] = (time.monotonic(), value)
    return value


def _read_secret(service: str, username: str) -> str | None:
    kr = _keyring()
    try:
        value: str | None = kr.get_password(service, username)
    except Exception as e:  # noqa: BLE001 - any backend failure is the same problem to the user
        raise ConfigError(
            f"the keyring could not be read ({type(e).__name__})", hint=HEADLESS_HINT
        ) from None
    if value:
        from .logs import register_secret

        register_secret(value)
    return value


def set_secret(service: str, username: str, value: str) -> None:
    with _KEPT_LOCK:
        _KEPT.pop((service, username), None)
    kr = _keyring()
    try:
        kr.set_password(service, username, value)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(
            f"the keyring could not be written ({type(e).__name__})", hint=HEADLESS_HINT
        ) from None


def target_name(account: str | None) -> str:
    """Keyring namespace of a target: the account name, or "blog" for the persona's blog."""
    return account or "blog"


def load(persona: str, target: str, fields: tuple[str, ...]) -> dict[str, str]:
    """Read every field a target needs; a missing one is an error that says how to log in."""
    service = service_name(persona, target)
    out: dict[str, str] = {}
    missing = []
    for name in fields:
        value = get_secret(service, name)
        if value is None:
            missing.append(name)
        else:
            out[name] = value
    if missing:
        raise MissingCredentials(
            f"no credentials for '{target}' of persona '{persona}' (missing: {', '.join(missing)})",
            hint=f"run 'crosspost accounts login {target}'",
        )
    return out


def store(persona: str, target: str, values: dict[str, str]) -> None:
    service = service_name(persona, target)
    for name, value in values.items():
        set_secret(service, name, value)


class MissingCredentials(ConfigError):
    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__([message], hint=hint)


def missing_logins(persona: str, targets: list[tuple[str, str]]) -> list[str]:
    """Targets whose platform needs credentials that are not in the keyring (yet).

    Best effort, for a friendly warning at queue time: a keyring that cannot be read here
    reports nothing, and the daemon says it again when it publishes.
    """
    from .platforms.registry import spec

    out = []
    for target, platform in targets:
        try:
            fields = [f.name for f in spec(platform).credential_fields if f.secret]
            if fields and any(get_secret(service_name(persona, target), f) is None for f in fields):
                out.append(target)
        except CrosspostError:
            return []
    return out
