"""What the adapters without an idempotency key share to find an earlier post, and to say
what a failed request meant.

X and Mastodon cannot be asked "did you get this post?": ``lookup`` reads the account's recent
posts and compares their text with ours. Both platforms rewrite what they were sent (X turns
every link into ``t.co``, Mastodon shows links shortened and mentions as ``@user``), so the
texts are compared with URLs removed and whitespace collapsed (:func:`squash`), and each of
our URLs must then be among the post's links, compared without scheme, ``www.`` and a
trailing slash (:func:`norm_url`, :func:`urls_present`).

Both SDKs speak through requests; a request that got no answer becomes a ``TransientError``
whose ``maybe_sent`` says whether the post may exist anyway (:func:`network_error`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from ..errors import TransientError
from ._http import requests_never_sent

#: a post made up to this long before ``scheduled_at`` (clock skew) still counts in lookup
LOOKUP_SLACK = timedelta(minutes=1)
URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
#: ``@user@domain`` (not an e-mail address): Mastodon shows a resolved mention as ``@user``
MENTION_RE = re.compile(r"(?<![\w@/.])(@\w+)@[\w-]+(?:\.[\w-]+)+")
#: punctuation after a URL in running text, not part of it
TRAILING = ".,;:!?)]}'\""


def squash(text: str, *, mentions: bool = False) -> str:
    """``text`` without URLs and with whitespace collapsed; with ``mentions``, each
    ``@user@domain`` reduced to ``@user``."""
    text = URL_RE.sub(" ", text)
    if mentions:
        text = MENTION_RE.sub(r"\1", text)
    return " ".join(text.split())


def norm_url(url: str) -> str:
    """A URL without its scheme, ``www.`` and trailing slash, its host in lower case."""
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip(), flags=re.IGNORECASE)
    host, sep, rest = url.partition("/")
    return (host.lower().removeprefix("www.") + sep + rest).rstrip("/")


def urls_present(
    urls: Iterable[str], links: Iterable[str], theirs: str, *, prefix: bool = False
) -> bool:
    """Whether each of our ``urls`` is one of the post's ``links`` (or, with ``prefix``, the
    start of one), or else written in its text ``theirs``."""
    known = {norm_url(link) for link in links if link}
    for url in urls:
        want = norm_url(url)
        found = any(k.startswith(want) for k in known) if prefix else want in known
        if not found and url not in theirs:
            return False
    return True


def network_error(e: BaseException, where: str, action: str, *, sent: bool) -> TransientError:
    """No HTTP answer (requests): did the request reach the server (``maybe_sent``) or not?

    ``sent``: the request was the one that creates the post, so a reply lost on the way
    leaves it open whether the post exists."""
    import requests

    kind = type(e).__name__
    if isinstance(e, requests.exceptions.ReadTimeout):
        return TransientError(
            f"no answer from {where} before the time-out while {action} ({kind})",
            hint="it may have been posted anyway; crosspost checks before posting again"
            if sent
            else None,
            maybe_sent=sent,
        )
    if requests_never_sent(e):
        return TransientError(
            f"could not connect to {where} while {action} ({kind})", maybe_sent=False
        )
    return TransientError(
        f"the connection to {where} failed while {action} ({kind})", maybe_sent=sent
    )
