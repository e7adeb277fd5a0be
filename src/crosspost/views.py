"""What the CLI shows: the stable JSON shapes (documented in docs/cli.md) and their rich tables.

JSON times are ISO 8601 in UTC with a ``Z`` (``scheduled_at``) plus the persona's local time
with its offset (``scheduled_local``), so scripts never have to guess a timezone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .when import format_local

if TYPE_CHECKING:
    from .app import App
    from .guard.findings import Report
    from .models import AuditRecord, Delivery, Post, Recurrence
    from .profiles import Persona
    from .queueing import Plan
    from .store import AuditCheck, Redaction


def planned_json(post: Any, plan: Any, **extra: Any) -> dict[str, Any]:
    """What ``queue`` and ``edit`` print with ``--format json``: the post as planned, with
    ``extra`` keys of the command."""
    out = {
        "id": post.id,
        "persona": post.persona,
        "scheduled_at": iso_utc(post.scheduled_at),
        "targets": [t.name for t in plan.targets],
        "note": plan.when.note,
        "guard": plan.report.to_json(detail=True),
    }
    return {**out, **extra}


def iso_utc(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def persona_timezones(app: App) -> dict[str, tzinfo]:
    """Timezones for display; a broken profile must not make the queue unreadable, but the
    user is told why the times are in UTC."""
    try:
        return {p.name: p.tz for p in app.personas}
    except ConfigError as e:
        import click

        click.echo(
            f"warning: times are shown in UTC until the profiles load: {e.problems[0]}"
            + (
                f" (and {len(e.problems) - 1} more; see 'crosspost personas')"
                if len(e.problems) > 1
                else ""
            ),
            err=True,
        )
        return {}


def persona_json(p: Persona) -> dict[str, Any]:
    return {
        "name": p.name,
        "display_name": p.display_name,
        "timezone": p.timezone,
        "file": str(p.source),
        "blog": None if p.blog is None else {"platform": p.blog.platform, "url": p.blog.url},
        "accounts": [
            {"name": a.name, "platform": a.platform, "handle": a.handle} for a in p.accounts
        ],
        "slots": p.slots,
        "packs": p.guard.packs,
        "separation": int(p.separation.total_seconds()) if p.separation else None,
    }


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "target": d.target,
        "platform": d.platform,
        "role": d.role,
        "state": d.state,
        "attempts": d.attempts,
        "due_at": iso_utc(d.due_at),
        "published_at": iso_utc(d.published_at),
        "remote_id": d.remote_id,
        "remote_url": d.remote_url,
        "error": d.last_error,
        "hint": d.hint,
    }


def recurrence_json(p: Any, series: Mapping[int, Recurrence] | None) -> dict[str, Any] | None:
    """How a recurring post repeats (None for a post that does not)."""
    if p.series_id is None:
        return None
    from .series import rule_of

    r = (series or {}).get(p.series_id)
    return {
        "series": p.series_id,
        "occurrence": p.occurrence,
        "rule": None if r is None else r.rule,
        "every": None if r is None else rule_of(r).describe(),
        "ended": None if r is None else r.ended_at is not None,
        "ended_reason": None if r is None else r.ended_reason,
    }


def post_json(
    p: Post,
    deliveries: list[Delivery],
    tzs: dict[str, tzinfo],
    full: bool = False,
    series: Mapping[int, Recurrence] | None = None,
) -> dict[str, Any]:
    tz = tzs.get(p.persona, UTC)
    out: dict[str, Any] = {
        "id": p.id,
        "persona": p.persona,
        "kind": p.kind,
        "title": p.title,
        "excerpt": _excerpt(p.body),
        "status": p.status,
        "scheduled_at": iso_utc(p.scheduled_at),
        "scheduled_local": p.scheduled_at.astimezone(tz).isoformat(),
        "targets": [delivery_json(d) for d in deliveries],
        "note": p.note,
        "recurrence": recurrence_json(p, series),
        "evergreen_of": p.evergreen_of,
    }
    if full:
        out.update(
            body=p.body,
            summary=p.summary,
            tags=p.tags,
            categories=p.categories,
            slug=p.slug,
            share=p.share,
            media=[{"path": m["path"], "alt": m.get("alt", "")} for m in p.media],
            allow=p.allow,
            source=p.source_path,
            source_changed=_source_changed(p),
            created_at=iso_utc(p.created_at),
        )
    return out


def _excerpt(body: str, n: int = 60) -> str:
    line = " ".join(body.split())
    return line if len(line) <= n else line[: n - 1] + "…"


def _source_changed(p: Post) -> bool | None:
    """True when the file was edited after queueing (the queued snapshot did not change)."""
    if not p.source_path:
        return None
    try:
        data = Path(p.source_path).read_bytes()
    except OSError:
        return True
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return hashlib.sha256(text.encode("utf-8")).hexdigest() != p.source_hash


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _fields(fields: dict[str, list[int]]) -> str:
    return "; ".join(f"{name}: {_ids(ids)}" for name, ids in sorted(fields.items()))


def audit_detail(d: dict[str, Any]) -> str:
    """What the listing shows of a record: where the finding was and its keyed hash (never
    matched text, except in records of older versions not yet redacted)."""
    if "records" in d and "fields" in d:  # a redaction
        return f"redacted records {_ids(d['records'])} ({_fields(d['fields'])})"
    parts = []
    if d.get("field"):
        where = d["field"]
        if d.get("end", 0) > d.get("start", 0):
            where += f" {d['start']}–{d['end']}"
        parts.append(where)
    if d.get("match_hmac"):
        parts.append(d["match_hmac"])
    elif "match" in d:
        parts.append(str(d["match"]))
    if d.get("owner"):
        parts.append(f"(persona '{d['owner']}')")
    return " ".join(parts) or str(d.get("message") or "")


def audit_check_json(c: AuditCheck) -> dict[str, Any]:
    return {
        "ok": not c.problems,
        "records": c.records,
        "last_hash": c.head,
        "head": c.kept,
        "problems": c.problems,
        "notes": c.notes,
        "redactions": [{**r, "at": iso_utc(r["at"])} for r in c.redactions],
    }


def audit_check_text(c: AuditCheck) -> list[str]:
    if c.problems:
        lines = ["the audit log has been tampered with:", *(f"  {p}" for p in c.problems)]
    else:
        lines = [
            f"audit log intact: {c.records} records, hash chain verified, head matches "
            f"(last hash {c.head})"
        ]
    for r in c.redactions:
        lines.append(
            f"redaction at {iso_utc(r['at'])} (record {r['id']}): records {_ids(r['records'])} "
            f"({_fields(r['fields'])}), signature {r['signature']}"
        )
    lines += [f"note: {n}" for n in c.notes]
    return lines


def redaction_json(done: Redaction | None) -> dict[str, Any]:
    if done is None:
        return {"redacted": False, "records": []}
    return {
        "redacted": True,
        "id": done.id,
        "records": done.records,
        "fields": done.fields,
        "rechained_from": done.rechained_from,
        "old_records": done.old_records,
        "old_head": done.old_head,
        "compacted": done.compacted,
    }


def redaction_text(done: Redaction | None) -> list[str]:
    if done is None:
        return ["nothing to redact: no record holds matched text"]
    lines = [
        f"redacted records {_ids(done.records)} ({_fields(done.fields)}); re-chained records "
        f"{done.rechained_from}–{done.old_records}; redaction record {done.id} says so",
        f"previous head: {done.old_records} records, last hash {done.old_head} (shown here only: "
        "the log keeps a keyed commitment to it)",
    ]
    if not done.compacted:
        lines.append(
            "note: another connection kept the database busy, so the old text may stay in unused "
            "parts of its files until SQLite reuses them; stop the daemon and run "
            "'sqlite3 DATABASE VACUUM' to rewrite them now"
        )
    return lines


def audit_json(r: AuditRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": iso_utc(r.at),
        "kind": r.kind,
        "persona": r.persona,
        "post_id": r.post_id,
        "rule": r.rule,
        "reason": r.reason,
        "detail": r.detail,
        "hash": r.hash,
    }


# -- text output -------------------------------------------------------------------------------

_STATE_STYLE = {
    "queued": "cyan",
    "publishing": "yellow",
    "published": "green",
    "failed": "red",
    "unknown": "magenta",
    "held": "yellow",
    "cancelled": "dim",
    "partial": "red",
}


def _styled(state: str) -> str:
    return f"[{_STATE_STYLE.get(state, 'white')}]{state}[/]"


def _esc(s: str | None) -> str:
    from rich.markup import escape

    return escape(s or "")


def print_personas(con: Any, data: list[dict[str, Any]]) -> None:
    from rich.table import Table

    t = Table("persona", "display name", "timezone", "blog", "accounts")
    for p in data:
        blog = f"{p['blog']['platform']} {p['blog']['url']}" if p["blog"] else "-"
        accounts = ", ".join(f"{a['name']} ({a['platform']})" for a in p["accounts"]) or "-"
        t.add_row(p["name"], _esc(p["display_name"]), p["timezone"], _esc(blog), _esc(accounts))
    con.print(t)


def _shown_time(iso: str, tz: tzinfo) -> str:
    """A JSON time (UTC ISO 8601) as people read it, in ``tz``."""
    return format_local(datetime.fromisoformat(iso.replace("Z", "+00:00")), tz)


_LIST_TITLE = {
    "upcoming": "upcoming posts and open problems, soonest first",
    "history": "finished posts, newest first",
    "all": "all posts, oldest first",
}
_LIST_EMPTY = {
    "upcoming": "nothing upcoming; finished posts: crosspost list --history",
    "history": "no finished posts",
    "all": "no posts queued yet",
}


def _list_target(d: dict[str, Any], tz: tzinfo) -> str:
    """A target in ``list``; one queued again with a reason (a retry, an account's cap, a
    persona's separation) says when it is due next (``show`` says why)."""
    shown = f"{d['target']}:{_styled(d['state'])}"
    if d["state"] == "queued" and d["error"]:
        shown += f" (next {_shown_time(d['due_at'], tz)})"
    return shown


def print_list(
    con: Any,
    data: list[dict[str, Any]],
    total: int,
    page: int,
    limit: int,
    tzs: Mapping[str, tzinfo] | None = None,
    view: str = "all",
) -> None:
    if not data:
        con.print("no posts on this page" if total else _LIST_EMPTY.get(view, "no posts"))
        return
    from rich.table import Table

    t = Table(
        "id",
        "persona",
        "when",
        "status",
        "title / text",
        "targets",
        title=_LIST_TITLE.get(view),
        title_justify="left",
    )
    for p in data:
        tz = (tzs or {}).get(p["persona"], UTC)
        targets = " ".join(_list_target(d, tz) for d in p["targets"])
        when = _shown_time(p["scheduled_at"], tz)
        if p.get("recurrence"):
            when += "\n" + _esc(_repeats(p["recurrence"], short=True))
        t.add_row(
            str(p["id"]),
            p["persona"],
            when,
            _styled(p["status"]),
            _esc(p["title"] or p["excerpt"]),
            targets,
        )
    con.print(t)
    pages = (total + limit - 1) // limit
    if pages > 1:
        con.print(
            f"page {page} of {pages} ({total} posts); next: --page {page + 1}"
            if page < pages
            else f"page {page} of {pages} ({total} posts)"
        )


def _repeats(r: dict[str, Any], *, short: bool = False) -> str:
    """A series as ``show`` says it ("↻ every 2 weeks at 09:00 … (#3)"), or ``list``, where
    the time is in the column already ("↻ every 2 weeks until … #3")."""
    every = r["every"] or "recurring"
    if short and r["rule"]:
        from .recurrence import Rule

        every = Rule(r["rule"], datetime(2000, 1, 1), "UTC").describe(at=False)  # noqa: DTZ001
        return f"↻ {every} #{r['occurrence']}" + (" (stopped)" if r.get("ended") else "")
    shown = f"↻ {every} (#{r['occurrence']})"
    return shown + (" (series stopped)" if r.get("ended") else "")


def print_show(con: Any, p: dict[str, Any], tz: tzinfo = UTC) -> None:
    con.print(
        f"[bold]post {p['id']}[/] ({p['kind']}) of persona [bold]{p['persona']}[/]: "
        f"{_styled(p['status'])}"
    )
    con.print(f"scheduled: {_shown_time(p['scheduled_at'], tz)}")
    if p.get("evergreen_of"):
        con.print(f"re-shares post {p['evergreen_of']} (evergreen)")
    if p.get("recurrence"):
        r = p["recurrence"]
        con.print(f"repeats: {_esc(_repeats(r))}")
        if r.get("ended_reason"):
            con.print(f"series ended: {_esc(r['ended_reason'])}")
    if p.get("title"):
        con.print(f"title: {_esc(p['title'])}")
    if p.get("tags"):
        con.print(f"tags: {_esc(', '.join(p['tags']))}")
    if p.get("source"):
        changed = p.get("source_changed")
        con.print(
            f"source: {_esc(p['source'])}"
            + (
                " [yellow](changed since queued; the queued copy is what goes out)[/]"
                if changed
                else ""
            )
        )
    if p.get("allow"):
        for rule, reason in p["allow"].items():
            con.print(f"override: {rule} ({_esc(reason)})")
    if p.get("note"):
        con.print(f"note: {_esc(p['note'])}")
    con.print()
    con.print(_esc(p.get("body", "")))
    con.print()
    from rich.table import Table

    t = Table("target", "platform", "state", "attempts", "url / error")
    for d in p["targets"]:
        detail = d["remote_url"] or d["error"] or ""
        if d["hint"]:
            detail += f" (hint: {d['hint']})"
        t.add_row(d["target"], d["platform"], _styled(d["state"]), str(d["attempts"]), _esc(detail))
    con.print(t)


def print_report(con: Any, report: Report) -> None:
    if not report.findings:
        con.print(f"[green]clean[/]: nothing of another persona found for '{report.persona}'")
        return
    for f in report.findings:
        if f.allowed_reason is not None:
            label = "[yellow]allowed[/]"
        elif f.severity == "block":
            label = "[red]block[/]"
        else:
            label = "[yellow]warn[/]"
        where = f"{f.field} {f.start}-{f.end}" if f.field != "to" else "--to"
        con.print(f"{label} [bold]{f.rule}[/] at {where}: {_esc(f.message)}")
        if f.allowed_reason is not None:
            con.print(f"      override reason: {_esc(f.allowed_reason)}")
    if report.blocked:
        con.print(
            "[red]blocked[/]: fix the findings above, or override a rule for this post "
            "with --allow RULE --reason TEXT (routing cannot be overridden)"
        )
    else:
        con.print("[green]not blocked[/] (warnings only)")


def print_preview(con: Any, items: list[dict[str, Any]]) -> None:
    for it in items:
        limit = f"/{it['limit']}" if it.get("limit") else ""
        over = " [red]over the limit[/]" if it.get("over") else ""
        note = f"; limit {it['limit']} ({_esc(it['limit_note'])})" if it.get("limit_note") else ""
        parts = it.get("parts") or []
        if len(parts) > 1:
            con.print(
                f"[bold]{it['target']}[/] ({it['platform']}): a thread of {len(parts)} posts{note}"
            )
            for k, part in enumerate(parts, 1):
                part_over = " [red]over the limit[/]" if part["over"] else ""
                con.print(f"[dim]part {k}:[/] {part['length']}{limit} {it['unit']}{part_over}")
                con.print(_esc(part["text"]))
            con.print()
            continue
        con.print(
            f"[bold]{it['target']}[/] ({it['platform']}): {it['length']}{limit}"
            f" {it['unit']}{over}{note}"
        )
        con.print(_esc(it["text"]))
        con.print()


def print_queued(con: Any, post: Post, plan: Plan, series: Recurrence | None = None) -> None:
    if plan.when.note:
        con.print(f"[yellow]note[/]: {_esc(plan.when.note)}")
    for f in plan.report.findings:
        if not f.blocks:
            kind = "allowed" if f.allowed_reason else f.severity
            con.print(f"[yellow]{kind}[/] {f.rule}: {_esc(f.message)}")
    con.print(
        f"queued post [bold]{post.id}[/] for {post.persona} at "
        f"{format_local(post.scheduled_at, plan.persona.tz)} → "
        f"{', '.join(t.name for t in plan.targets)}"
    )
    if series is not None:
        from .series import rule_of

        con.print(f"repeats {_esc(rule_of(series).describe())}")


def print_audit(
    con: Any, data: list[dict[str, Any]], total: int, tzs: Mapping[str, tzinfo] | None = None
) -> None:
    """Each record's time in its persona's timezone (UTC for a persona no longer configured)."""
    if not data:
        con.print("the audit log is empty")
        return
    from rich.table import Table

    t = Table("id", "at", "kind", "persona", "post", "rule", "reason / finding")
    for r in data:
        detail = r["reason"] or audit_detail(r["detail"] or {})
        at = _shown_time(r["at"], (tzs or {}).get(r["persona"], UTC))
        t.add_row(
            str(r["id"]),
            at,
            r["kind"],
            r["persona"],
            str(r["post_id"] or "-"),
            r["rule"] or "-",
            _esc(str(detail)),
        )
    con.print(t)
    if total > len(data):
        con.print(f"{len(data)} of {total} records; more with --limit")
