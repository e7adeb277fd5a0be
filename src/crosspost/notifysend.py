"""Sending one message to one apprise URL, and what a profile's notify settings may hold.

Kept apart from :mod:`crosspost.notices` (the store's side) so that loading a profile checks its
URLs without importing the database layer, and apprise is imported only where a URL is used.
Notify URLs may embed passwords and tokens: nothing here repeats one in a message or a log.
Such a URL belongs in the keyring: a profile entry ``keyring:<label>`` names a URL that
``crosspost notify add <label>`` stored there (per persona), read only when a notice is sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

DIGEST_RE = re.compile(r"^(?:[01]?\d|2[0-3]):[0-5]\d$")
#: a ``notify`` entry naming a URL kept in the keyring: ``keyring:<label>``
KEYRING_PREFIX = "keyring:"
LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SECRET_KEYS = ("pass", "token", "key", "secret", "auth", "pw")


def keyring_label(entry: str) -> str | None:
    """The label of a ``keyring:<label>`` entry; None for a URL written in the profile."""
    return entry[len(KEYRING_PREFIX) :] if entry.startswith(KEYRING_PREFIX) else None


def keyring_service(persona: str) -> str:
    """Where a persona's notify URLs are kept (``:`` is in no account name, so no account's
    credentials share it)."""
    return f"crosspost/{persona}/:notify"


def add_command(persona: str, label: str) -> str:
    return f"'crosspost notify add {label} --persona {persona}'"


def resolve(persona: str, entry: str) -> str | None:
    """The URL an entry stands for; None for a keyring label nothing is stored under."""
    from .logs import register_secret

    label = keyring_label(entry)
    if label is None:
        url: str | None = entry
    else:
        from . import credentials

        url = credentials.get_secret(keyring_service(persona), label)
    # the URL's password and tokens stay out of every log line, wherever the URL was kept
    for secret in secrets_of(url or ""):
        register_secret(secret)
    return url


def inline_secrets(entry: str) -> bool:
    """Does a URL written in the profile hold a password or a token?"""
    return keyring_label(entry) is None and len(secrets_of(entry)) > 1


def scheme(url: str) -> str:
    """The URL's scheme, the one part of it that is safe to show anywhere."""
    if url.startswith(KEYRING_PREFIX):
        return "keyring"
    head, sep, _ = url.partition("://")
    return head.lower() if sep and head.isascii() and head.replace("+", "").isalnum() else "?"


def url_problems(urls: Sequence[str], where: str, known: Path | None = None) -> list[str]:
    """One problem per URL apprise does not understand; the URL itself is never repeated
    (it may hold a password).

    Apprise loads all of its ~190 plugins to read one URL, close to a second on every
    command: ``known`` is a file of the hashes of URLs found good before, so an unchanged
    profile costs no apprise at all (best effort: an unwritable file only costs the time).
    """
    if not urls:
        return []
    ids = [url_id(u) for u in urls]
    good = _known(known)
    if all(i in good for i in ids):
        return []
    problems = []
    for i, url in enumerate(urls):
        if ids[i] in good:
            continue
        label = keyring_label(url)
        if label is not None:
            if LABEL_RE.match(label):
                good.add(ids[i])
            else:
                problems.append(
                    f"{where} notify[{i}]: {url!r} needs a label of lowercase letters, digits, "
                    "'-' and '_' after 'keyring:', like 'keyring:phone'"
                )
            continue
        import apprise

        if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
            problems.append(
                f"{where} notify[{i}]: apprise does not understand this {scheme(url)}:// URL; "
                "see https://github.com/caronc/apprise/wiki for the forms each service takes"
            )
        else:
            good.add(ids[i])
    if known is not None:
        with contextlib.suppress(OSError):
            known.parent.mkdir(parents=True, exist_ok=True)
            lines = [_apprise_version(), *sorted(good)]
            known.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return problems


def _apprise_version() -> str:
    from importlib.metadata import version

    return f"apprise {version('apprise')}"


def _known(path: Path | None) -> set[str]:
    """URL hashes found good by this apprise version (another may read URLs differently)."""
    if path is None:
        return set()
    try:
        first, *rest = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, ValueError):
        return set()
    return set(rest) if first == _apprise_version() else set()


def digest_time(value: str) -> time:
    """``notify_digest`` ("18:00") as a time of day."""
    if not DIGEST_RE.match(value):
        raise ValueError(f"notify_digest {value!r} is not a time of day; write it like '18:00'")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def next_digest(after: datetime, at: str, tz: tzinfo) -> datetime:
    """The first digest time (``at`` local time in ``tz``) later than ``after``, in UTC."""
    local = after.astimezone(tz)
    t = digest_time(at)
    day = local.date()
    for _ in range(3):
        candidate = datetime.combine(day, t, tzinfo=tz).astimezone(UTC)
        if candidate > after:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("a time of day recurs within two days")  # pragma: no cover


@dataclass(frozen=True)
class Sent:
    """What became of one notice sent to one URL."""

    index: int
    scheme: str
    ok: bool
    reason: str = ""
    #: the URL as apprise shows it, passwords and tokens masked (for the user's own terminal)
    shown: str = ""

    @property
    def name(self) -> str:
        return f"notify[{self.index}] ({self.scheme})"


def url_id(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def secrets_of(url: str) -> list[str]:
    """The parts of ``url`` that must not reach a log: password and secret-looking query
    values (and the URL itself)."""
    out = [url]
    try:
        parts = urlsplit(url)
        if parts.password:
            out += [parts.password, unquote(parts.password)]
        for k, v in parse_qsl(parts.query):
            if v and any(s in k.lower() for s in _SECRET_KEYS):
                out += [v, unquote(v)]
    except ValueError:
        pass
    return [s for s in out if len(s) >= 3]


def scrub(text: str, secrets: Iterable[str]) -> str:
    for s in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def send(index: int, entry: str, title: str, body: str, persona: str) -> Sent:
    """Send one message to one of ``persona``'s notify entries; never raises."""
    kind = scheme(entry)
    try:
        url = resolve(persona, entry)
    except Exception as e:  # noqa: BLE001 - a keyring that fails is this URL's failure
        return Sent(index, kind, False, f"the keyring could not be read: {type(e).__name__}")
    if url is None:
        label = keyring_label(entry)
        return Sent(
            index,
            kind,
            False,
            f"no notify URL '{label}' in the keyring: run {add_command(persona, str(label))}",
        )
    import apprise

    kind = scheme(url)
    try:
        # apprise's plugins are untyped
        target: Any = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        if target is None:
            return Sent(index, kind, False, "apprise does not understand this URL")
        shown = str(target.url(privacy=True))
        capture: Any = apprise.LogCapture
        with capture(level=logging.WARNING) as captured:
            ok = bool(target.notify(body=body, title=title))
            said = captured.getvalue()
    except Exception as e:  # noqa: BLE001 - a broken plugin must not stop the others
        return Sent(index, kind, False, scrub(f"{type(e).__name__}: {e}", secrets_of(url)))
    if ok:
        return Sent(index, kind, True, shown=shown)
    lines = [ln.split(" - ", 2)[-1].strip() for ln in said.splitlines() if ln.strip()]
    reason = "; ".join(dict.fromkeys(lines)) or "the service did not accept it"
    return Sent(index, kind, False, scrub(reason, secrets_of(url)), shown)


def send_all(persona: str, urls: Sequence[str], title: str, body: str) -> list[Sent]:
    return [send(i, u, title, body, persona) for i, u in enumerate(urls)]
