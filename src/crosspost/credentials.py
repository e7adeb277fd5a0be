"""Secrets in the OS keyring, namespaced per persona: ``crosspost/<persona>/<account>``.

Nothing secret is ever written to config files, the database or logs. When no usable keyring
backend exists (a headless server), the error says what to install or configure.
"""

from __future__ import annotations

from .errors import ConfigError

HEADLESS_HINT = (
    "no usable keyring backend: on a desktop, unlock or install a Secret Service keyring "
    "(GNOME Keyring, KWallet); on a headless server, pip install keyrings.cryptfile and set "
    "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring with "
    "KEYRING_CRYPTFILE_PASSWORD (see the README, 'Credentials on a server')"
)


def service_name(persona: str, account: str) -> str:
    return f"crosspost/{persona}/{account}"


def _keyring():  # type: ignore[no-untyped-def]
    import keyring
    from keyring.backends import fail

    if isinstance(keyring.get_keyring(), fail.Keyring):
        raise ConfigError("cannot store or read credentials", hint=HEADLESS_HINT)
    return keyring


def get_secret(service: str, username: str) -> str | None:
    kr = _keyring()
    try:
        return kr.get_password(service, username)
    except Exception as e:  # noqa: BLE001 - any backend failure is the same problem to the user
        raise ConfigError(
            f"the keyring could not be read ({type(e).__name__})", hint=HEADLESS_HINT
        ) from None


def set_secret(service: str, username: str, value: str) -> None:
    kr = _keyring()
    try:
        kr.set_password(service, username, value)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(
            f"the keyring could not be written ({type(e).__name__})", hint=HEADLESS_HINT
        ) from None
