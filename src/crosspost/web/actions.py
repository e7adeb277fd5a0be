"""What the pages do, through the library functions the commands call (``queue``, ``edit``,
``check``, ``preview``, ``reschedule``, ``release``, ``retry``, ``resolve``, ``cancel``): a post
queued in the browser is checked and stored exactly as one queued on the command line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..app import App
from ..entries import Entry, Media
from ..errors import EntryError, Refused, UsageError
from ..guard.findings import Finding, Report
from ..models import HELD, Post, utcnow
from ..queueing import Plan


@dataclass
class Draft:
    """The composer's fields, as the form sends them."""

    persona: str
    title: str = ""
    body: str = ""
    tags: str = ""
    to: list[str] = field(default_factory=list)
    when: str = "at"  # "at", "next" (the persona's next free slot) or "now"
    at: str = ""
    allow: str = ""
    reason: str = ""
    #: images sent with the form (saved for the request), and on an edit the post's own
    #: images that stay (index → alt text)
    media: list[Media] = field(default_factory=list)
    kept: dict[int, str] | None = None
    #: the queued post being edited (None: a new post), and its last change when the form
    #: was opened: a save over a change made since (another tab, the CLI) is refused
    post_id: int | None = None
    version: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any], to: Sequence[str]) -> Draft:
        def text(name: str) -> str:
            v = form.get(name, "")
            return v.replace("\r\n", "\n") if isinstance(v, str) else ""

        return cls(
            persona=text("persona"),
            title=text("title").strip(),
            body=text("body"),
            tags=text("tags"),
            to=[t for t in to if isinstance(t, str)],
            when=text("when") or "at",
            at=text("at").strip(),
            allow=text("allow").strip(),
            reason=text("reason").strip(),
            post_id=int(text("post_id")) if _decimal(text("post_id")) else None,
            version=text("version"),
        )

    def entry(self) -> Entry:
        """An entry as if written in a file: title, Markdown body and tags. Findings keep
        offsets into each field (``offsets`` empty), so the page marks them in place."""
        body = self.body.rstrip()
        if not body.strip():
            raise EntryError("the post has no text", hint="write the post in the text field")
        tags = [t.strip().lstrip("#") for t in self.tags.split(",") if t.strip().lstrip("#")]
        raw = "\n".join([self.title, ", ".join(tags), body, *(m.alt for m in self.media)])
        return Entry(
            raw=raw,
            body=body,
            title=self.title or None,
            tags=tags,
            media=list(self.media),
            offsets={},
        )

    def edited(self, post: Post) -> Entry:
        """The queued post with what the form changes (title, text, tags, images and their
        alt text); what the form does not show (summary, categories, share texts, slug,
        language, images in the body) stays as it was queued."""
        from dataclasses import replace

        from ..publisher import entry_from_post

        new = self.entry()
        old = entry_from_post(post)
        kept = self.kept or {}
        media = [Media(m.path, kept[i]) for i, m in enumerate(old.media) if i in kept]
        return replace(
            old,
            raw=new.raw,
            body=new.body,
            title=new.title,
            tags=new.tags,
            media=media + new.media,
            body_images=[m for m in old.body_images if m.ref and m.ref in new.body],
            offsets={},
        )

    def at_option(self) -> tuple[str | None, bool]:
        """(``--at``, ``--next-slot``) as the command line would get them."""
        if self.when == "next":
            return None, True
        if self.when == "now":
            return "now", False
        if not self.at:
            raise UsageError("give the time of the post, or choose 'next free slot'")
        return self.at.replace("T", " "), False

    def targets(self) -> list[str]:
        if not self.to:
            raise UsageError("choose at least one target for the post")
        return self.to

    def allowances(self) -> tuple[list[str], str | None]:
        rules = [r.strip() for r in self.allow.split(",") if r.strip()]
        return rules, self.reason or None


def plan(app: App, d: Draft) -> Plan:
    """What ``queue`` decides, without writing: the guard's full report (text, routing,
    timing, same image) at the chosen time."""
    from ..queueing import plan_entry
    from ..when import When

    allow, reason = d.allowances()
    if d.post_id is not None:  # as 'edit' checks it: its own time unless moved, not itself
        post, _ = app.store.get(d.post_id)
        at = d.at.replace("T", " ") if d.at else None
        return plan_entry(
            app,
            d.edited(post),
            d.persona,
            d.targets(),
            at,
            False,
            allow,
            reason,
            when=None if at else When(post.scheduled_at),
            post_id=d.post_id,
        )
    at, next_slot = d.at_option()
    return plan_entry(app, d.entry(), d.persona, d.targets(), at, next_slot, allow, reason)


def check(app: App, d: Draft) -> dict[str, Any]:
    """The composer's live check: findings with their messages, the body split where they
    are, and the preview of each target (exact length, thread parts)."""
    from ..errors import CrosspostError
    from ..preview import build_preview
    from ..when import format_local

    try:
        p = plan(app, d)
        items = build_preview(p.persona, p.entry, p.targets, app.cache_dir)
    except CrosspostError as e:
        return {"error": e.message, "hint": e.hint}
    return {
        "blocked": p.report.blocked,
        "findings": [finding_json(f) for f in p.report.findings],
        "body": segments(d.body.rstrip(), p.report),
        "when": format_local(p.when.utc, p.persona.tz),
        "note": p.when.note,
        "preview": [
            {
                "target": it["target"],
                "platform": it["platform"],
                "length": it["length"],
                "limit": it["limit"],
                "unit": it["unit"],
                "over": it["over"],
                "parts": [
                    {"text": part["text"], "length": part["length"], "over": part["over"]}
                    for part in (
                        it["parts"]
                        or [{"text": it["text"], "length": it["length"], "over": it["over"]}]
                    )
                ],
            }
            for it in items
        ],
    }


def finding_json(f: Finding) -> dict[str, Any]:
    """A finding as the page shows it: never its matched text on its own (the page shows
    where it is in the user's own text)."""
    return {
        "rule": f.rule,
        "severity": f.severity,
        "blocks": f.blocks,
        "field": f.field,
        "start": f.start,
        "end": f.end,
        "message": f.message,
        "allowed": f.allowed_reason,
    }


def segments(body: str, report: Report) -> list[dict[str, Any]]:
    """``body`` cut at the findings in it: plain runs, and runs carrying a finding (the
    first of overlapping ones)."""
    spans = sorted(
        (f for f in report.findings if f.field == "body" and 0 <= f.start < f.end <= len(body)),
        key=lambda f: (f.start, -f.end),
    )
    out: list[dict[str, Any]] = []
    pos = 0
    for f in spans:
        if f.start < pos:
            continue
        if f.start > pos:
            out.append({"text": body[pos : f.start]})
        out.append(
            {
                "text": body[f.start : f.end],
                "rule": f.rule,
                "message": f.message,
                "blocks": f.blocks,
            }
        )
        pos = f.end
    if pos < len(body):
        out.append({"text": body[pos:]})
    return out


def queue(app: App, d: Draft) -> tuple[Post, Plan]:
    from ..queueing import queue_entry

    at, next_slot = d.at_option()
    allow, reason = d.allowances()
    app.store.require_writable()
    return queue_entry(app, d.entry(), d.persona, d.targets(), at, next_slot, allow, reason)


def edit(app: App, post_id: int, d: Draft) -> tuple[Post, Plan, list[str]]:
    """``crosspost edit``: the schedule stays unless the time field was changed."""
    from ..queueing import edit_post

    allow, reason = d.allowances()
    at = d.at.replace("T", " ") if d.at else None
    app.store.require_writable()
    post, _ = app.store.get(post_id)
    if d.version and d.version != version_of(post):
        raise Refused(
            f"post {post_id} was changed (in another tab, by a command or by the daemon) after "
            "this form was opened; your changes were not saved",
            hint=f"open post {post_id} again to see it as it is now, then edit that",
        )
    entry = d.edited(post)
    return edit_post(app, post_id, entry, d.persona, d.targets(), at, allow, reason)


def move(
    app: App, post_id: int, at: str | None, next_slot: bool, *, release: bool, early: bool = False
) -> str:
    """``reschedule`` and ``release`` (``--now`` with ``early``)."""
    from ..queueing import move_to
    from ..when import format_local

    post, deliveries = app.store.get(post_id)
    if release and not early and not any(d.state == HELD for d in deliveries):
        raise Refused(
            f"post {post_id} is {post.status}, not held; there is nothing to release",
            hint="use 'publish now' to send a queued post now, or give it another time",
        )
    if not at and not next_slot:
        raise UsageError("give the new time, or choose the next free slot")
    persona = app.personas.get(post.persona)
    post, when = move_to(app, post, persona, at, next_slot, release=release)
    done = f"post {post_id} {'released' if release else 'rescheduled'} for " + format_local(
        post.scheduled_at, persona.tz
    )
    return f"{done} ({when.note})" if when.note else done


def cancel(app: App, post_id: int) -> str:
    post, cancelled = app.store.cancel(post_id)
    return f"cancelled post {post_id} for {', '.join(cancelled)} (now {post.status})"


def retry(app: App, post_id: int, target: str | None) -> str:
    from ..claims import retry as retry_targets

    done = retry_targets(app.store, post_id, target, utcnow())
    return f"post {post_id}: {', '.join(done)} queued again"


def resolve(app: App, post_id: int, target: str, url: str | None) -> str:
    from ..claims import resolve as resolve_target

    released = resolve_target(app.store, post_id, target, url, utcnow())
    done = f"post {post_id}: {target} marked as published"
    return f"{done}; shares now going out: {', '.join(released)}" if released else done


def version_of(post: Post) -> str:
    """What an edit form remembers of the post it shows: its last change."""
    return post.updated_at.isoformat()


def _decimal(value: str) -> bool:
    """Plain ASCII digits (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    return value.isascii() and value.isdigit()
