"""``crosspost preview``: the exact text each target would get, with its length and limit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .entries import Entry
from .profiles import Persona
from .sharetext import COUNTED, ShareSource, canonical_url, length_for, limit_for, render_for
from .store import Target


def share_source(entry: Entry) -> ShareSource:
    return ShareSource(
        kind=entry.kind,
        title=entry.title,
        body=entry.body,
        summary=entry.summary,
        tags=tuple(entry.tags),
        slug=entry.effective_slug(),
        share=dict(entry.share),
    )


def build_preview(persona: Persona, entry: Entry, targets: list[Target]) -> list[dict[str, Any]]:
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
                {"target": t.name, "platform": t.platform, "text": text, "url": url,
                 "length": len(entry.body), "limit": None, "unit": "characters", "over": False}
            )
            continue
        account = persona.account(t.name)
        assert account is not None
        text = render_for(src, persona, account, url)
        limit = limit_for(account) if account.platform in COUNTED else None
        length = length_for(text, account.platform)
        unit = {"x": "weighted characters", "bluesky": "graphemes"}.get(
            account.platform, "characters"
        )
        items.append(
            {"target": t.name, "platform": t.platform, "text": text, "url": url,
             "length": length, "limit": limit, "unit": unit,
             "over": bool(limit and length > limit)}
        )
    return items
