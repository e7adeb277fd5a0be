"""``crosspost preview``: the exact text each target would get, with its length and limit.

A share that becomes a thread (see :mod:`crosspost.threads`) is shown part by part (``parts``:
each part's text, length and limit), as the publisher will send it.

An account whose server announces its own limit and counting (a Mastodon instance: its spec's
``live_rules``) is previewed with them, as the daemon uses them: read with a short time-out and
cached on disk (see :func:`crosspost.platforms.mastodon.share_rules`), so preview shows what
the daemon will send.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from .entries import Entry
from .platforms import registry
from .platforms.spec import ShareRules, resolve
from .profiles import Account, Persona
from .sharetext import (
    canonical_url,
    length_for,
    limit_for,
    render_for,
    share_source,
    thread_for,
)
from .targets import Target

#: seconds to wait for a Mastodon instance's limits: a preview must not hang on a slow one
INSTANCE_TIMEOUT = 3.0


def build_preview(
    persona: Persona, entry: Entry, targets: list[Target], cache_dir: Path | None = None
) -> list[dict[str, Any]]:
    """What each target will publish; ``cache_dir`` as in :class:`AdapterContext`."""
    src = share_source(entry)
    url = None
    if persona.blog and entry.kind == "entry":
        # the URL a static blog will give the entry (WordPress/Micropub: a prediction)
        url = canonical_url(persona.blog, src.slug, datetime.now(persona.tz))
    items: list[dict[str, Any]] = []
    for t in targets:
        if t.role == "blog":
            text = (f"# {entry.title}\n\n" if entry.title else "") + entry.body
            items.append(
                {
                    "target": t.name,
                    "platform": t.platform,
                    "text": text,
                    "url": url,
                    "length": len(entry.body),
                    "limit": None,
                    "unit": "characters",
                    "over": False,
                    "limit_source": None,
                    "limit_note": None,
                    "counting": None,
                    "parts": None,
                }
            )
            continue
        account = persona.account(t.name)
        assert account is not None
        limit, counting, source, note = _rules(persona, account, cache_dir)
        # a thread is previewed part by part, exactly as the publisher sends it
        texts = thread_for(src, persona, account, url, limit, counting)
        if texts is None:
            texts = [render_for(src, persona, account, url, limit, counting)]
        lengths = [length_for(part, account.platform, counting) for part in texts]
        parts: list[dict[str, Any]] = [
            {"text": part, "length": n, "limit": limit, "over": bool(limit and n > limit)}
            for part, n in zip(texts, lengths, strict=True)
        ]
        items.append(
            {
                "target": t.name,
                "platform": t.platform,
                # the publisher stores a thread's parts like this, one blank line apart
                "text": "\n\n".join(texts),
                "url": url,
                # of the longest part (of the one post, when it is not a thread)
                "length": max(lengths),
                "limit": limit,
                "unit": _unit(account.platform, counting),
                "over": any(part["over"] for part in parts),
                "limit_source": source,
                "limit_note": note,
                "counting": counting,
                "parts": parts,
            }
        )
    return items


def _rules(
    persona: Persona, account: Account, cache_dir: Path | None
) -> tuple[int | None, str | None, str | None, str | None]:
    """(limit, counting, where the limit came from, a note for people) for one account."""
    spec = registry.spec(account.platform)
    if spec.live_rules is not None:
        # the server announces its own limit (cached for a day; a default when unreachable)
        from .contexts import adapter_context

        ctx = adapter_context(persona, account.name, timeout=INSTANCE_TIMEOUT, cache_dir=cache_dir)
        rules: ShareRules = resolve(spec.live_rules)(ctx, timeout=INSTANCE_TIMEOUT)
        return rules.limit, rules.counting, rules.source, rules.note
    if spec.counting is None:
        return None, None, None, None
    if account.limit:
        return account.limit, account.platform, "account", "the account's limit"
    return limit_for(account), account.platform, "platform", None


def _unit(platform: str, counting: str | None) -> str:
    rule = registry.spec(platform).counting_for(counting)
    return rule.unit if rule is not None else "characters"
