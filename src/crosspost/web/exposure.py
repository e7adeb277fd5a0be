"""The exposure audit's page: run ``crosspost audit-exposure`` from the browser, see its
findings.

The audit reads every account back from its platform, which takes seconds; the page is a
plain form (POST, then a redirect to the page), and the last result is kept in this process
so a reload shows it with its time instead of reading every platform again. Findings carry
where and why, never the matched text, and notes are redacted by the library: the page
shows nothing the command would not print.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from ..app import App
from ..errors import UsageError
from ..exposure import Audit, run

#: the command's --limit bounds
LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 10_000, 200


@dataclass(frozen=True)
class LastRun:
    at: datetime
    persona: str | None
    limit: int
    result: Audit


class LastRuns:
    """The last audit this process ran (one per process: the page is one person's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: LastRun | None = None

    def get(self) -> LastRun | None:
        with self._lock:
            return self._last

    def put(self, last: LastRun) -> None:
        with self._lock:
            self._last = last


def parse_form(app: App, form: dict[str, str]) -> tuple[str | None, int, bool]:
    """(persona or None for all, limit, record) from the form, refused as the command's
    options would be."""
    persona = form.get("persona", "").strip() or None
    if persona is not None:
        app.personas.get(persona)
    raw = form.get("limit", "").strip() or str(LIMIT_DEFAULT)
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not LIMIT_MIN <= limit <= LIMIT_MAX:
        raise UsageError(
            f"limit '{raw}' is not a whole number from {LIMIT_MIN} to {LIMIT_MAX}",
            hint=f"the latest items to read per account, e.g. {LIMIT_DEFAULT}",
        )
    return persona, limit, form.get("no_import") != "1"


def run_audit(app: App, persona: str | None, limit: int, record: bool) -> LastRun:
    result = run(app, persona, limit=limit, record=record)
    return LastRun(datetime.now(UTC), persona, limit, result)


def _link(url: str | None) -> str | None:
    """Only web addresses become links: a platform's answer never becomes a script URL."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def page_data(last: LastRun, tzs: dict[str, tzinfo], default: tzinfo) -> dict[str, Any]:
    """What the template shows of ``last``, blocks first; times in each persona's zone."""
    from ..when import format_local

    r = last.result
    findings = [
        {
            "persona": f.persona,
            "target": f.target,
            "platform": f.platform,
            "where": f.kind if f.field == "body" else f"{f.kind}: {f.field}",
            "rule": f.rule,
            "severity": f.severity,
            "message": f.shown_message(),
            "url": f.url,
            "link": _link(f.url),
            "published": format_local(f.published_at, tzs.get(f.persona, default))
            if f.published_at
            else "",
        }
        for f in sorted(r.findings, key=lambda f: not f.blocks)
    ]
    notes = [
        {"persona": t.persona, "target": t.target, "platform": t.platform, "note": note}
        for t in r.reads
        for note in t.notes
    ]
    targets = [
        {
            "persona": t.persona,
            "target": t.target,
            "platform": t.platform,
            "posts": len(t.items),
            "profile": t.profile is not None,
            "imported": t.imported,
        }
        for t in r.reads
    ]
    return {
        "at": format_local(last.at, tzs.get(last.persona or "", default)),
        "persona": last.persona,
        "limit": last.limit,
        "blocked": r.blocked,
        "warned": bool(r.findings) and not r.blocked,
        "summary": r.summary(),
        "findings": findings,
        "notes": notes,
        "targets": targets,
    }
