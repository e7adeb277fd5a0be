"""One claimed delivery: guard again, render, ask the platform if needed, publish, record.

The guard runs against the configuration as it is now, not as it was at queue time: a
persona's identity may have grown since. A delivery whose earlier attempt may have reached the
platform is reconciled with ``lookup`` first; when the platform cannot tell, the delivery
becomes ``unknown`` and waits for the user instead of risking a second post.

Whatever keeps a post from going out is logged at WARNING or ERROR with what the user needs
to find and fix it without opening the database: the post's id and title (or first words),
its persona, its scheduled time in the persona's timezone, the target and the reason.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import credentials, notices
from .app import App
from .auditlog import finding_detail, finding_summary
from .claims import Claim, OtherPublication, others_recent, record, record_parts, unclaim
from .contexts import context_for
from .entries import Entry, Media, first_words
from .errors import ConfigError, CrosspostError, PermanentError, TransientError
from .models import (
    FAILED,
    PARTIAL,
    PUBLISHED,
    PUBLISHING,
    QUEUED,
    UNKNOWN,
    Delivery,
    ImportedPost,
    Post,
    utcnow,
)
from .notices import blocked_reasons
from .platforms import registry
from .platforms.base import (
    Adapter,
    LookupUnsupported,
    MediaItem,
    Publication,
    Result,
)
from .platforms.registry import make_adapter
from .store import AuditEntry, Store
from .when import format_local

if TYPE_CHECKING:
    from .guard.findings import Finding
    from .profiles import Persona

log = logging.getLogger("crosspost.publisher")


class _MaybePosted(Exception):
    """An adapter failed in an unforeseen way mid-call: the post may exist."""


class Stopping(Exception):
    """Raised by a gate when the daemon stops before this delivery's request went out."""


#: :attr:`Outcome.kind` where the state alone does not say what happened
BLOCKED = "blocked"  # failed: the leak guard refused it at publish time
RETRYING = "retrying"  # queued again after a transient failure
WAITING = "waiting"  # queued again: a persona's separation, or the daemon is stopping


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    state: str
    detail: str = ""
    kind: str = ""

    @property
    def category(self) -> str:
        """What a run's summary counts this outcome as."""
        return self.kind or self.state


def describe(app: App, post_id: int, post: Any | None, target: str) -> str:
    """A post as its user knows it, for a log line: id, title or first words, persona and
    scheduled time in the persona's own timezone, and the target(s)."""
    if post is None:
        return f"post {post_id} to {target}"
    label = post.title or first_words(post.body)
    when = format_local(post.scheduled_at, persona_tz(app, post.persona))
    return (
        f"post {post_id} \"{label}\" (persona '{post.persona}', scheduled for {when}) to {target}"
    )


def persona_tz(app: App, persona: str) -> tzinfo:
    """The persona's timezone; UTC when its profile is gone or broken (the line must still
    be written)."""
    try:
        return app.personas.get(persona).tz
    except CrosspostError:
        return UTC


def entry_from_post(post: Post) -> Entry:
    """The stored snapshot as an Entry, so the guard checks exactly what will go out.

    ``post`` is a :class:`Post` or a row of its table (:meth:`Store.snapshot`)."""
    return Entry(
        raw=post.body,
        body=post.body,
        title=post.title,
        persona=post.persona,
        tags=list(post.tags),
        categories=list(post.categories),
        share=dict(post.share),
        media=[Media(Path(m["path"]), m.get("alt", "")) for m in post.media if not m.get("ref")],
        summary=post.summary,
        slug=post.slug,
        lang=post.lang,
        thread=bool(post.thread),
        evergreen=post.evergreen is not None,
        evergreen_texts=dict((post.evergreen or {}).get("texts", {})),
        body_images=[
            Media(Path(m["path"]), m.get("alt", ""), ref=m["ref"])
            for m in post.media
            if m.get("ref")
        ],
    )


def part_key(key: str, k: int) -> str:
    """The idempotency key of part ``k`` (from 0) of a thread: the first part's is the
    delivery's own, so a share that becomes a thread keeps its key for the first post."""
    return key if k == 0 else f"{key}/{k + 1}"


def _stored_parts(deliveries: list[Any], c: Claim) -> list[dict[str, str | None]] | None:
    """The parts an earlier attempt recorded for this delivery, or None."""
    mine = next((d for d in deliveries if d.id == c.delivery_id), None)
    stored = getattr(mine, "parts", None)
    if not stored:
        return None
    return [dict(p) for p in stored]


def _part_ids(r: Result) -> dict[str, str | None]:
    return {"remote_id": r.remote_id, "url": r.url, "cid": r.cid}


def _part_result(part: dict[str, str | None]) -> Result:
    return Result(remote_id=str(part["remote_id"]), url=part.get("url"), cid=part.get("cid"))


def backoff(attempt: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff with jitter, so many failed targets do not retry in lockstep."""
    delay = min(cap.total_seconds(), base.total_seconds() * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


class Publisher:
    def __init__(self, app: App) -> None:
        self.app = app
        self.timeout = app.settings.daemon.request_timeout.total_seconds()
        #: a platform's request slots; the daemon caps requests in flight per platform
        self.gate: Callable[[str], AbstractContextManager[object]] = lambda _: nullcontext()

    def run(self, c: Claim, snapshot: tuple[Any, list[Any]] | None = None) -> Outcome:
        """Publish one claimed delivery; ``snapshot`` is its post as read right after the
        claim (the daemon reads a batch of claims at once), else it is read here."""
        now = utcnow()
        post = snapshot[0] if snapshot is not None else None
        try:
            if snapshot is None:
                snapshot = self.app.store.snapshot(c.post_id)
                post = snapshot[0]
            return self._run(c, snapshot)
        except Stopping:
            unclaim(self.app.store, c, utcnow())
            return Outcome(c, QUEUED, "not sent: the daemon is stopping", WAITING)
        except TransientError as e:
            return self._transient(c, e, post)
        except PermanentError as e:
            # the platform refused the account's credentials (401/403): the hint says to log in
            rejected = e.hint is not None and "accounts login" in e.hint
            return self._fail(c, e.message, e.hint, post, rejected=rejected)
        except ConfigError as e:
            # e.g. missing credentials or a profile broken since queueing
            return self._fail(c, str(e.message), e.hint, post)
        except CrosspostError as e:
            return self._fail(c, e.message, e.hint, post)
        except Exception as e:
            log.exception("unexpected error publishing post %s to %s", c.post_id, c.target)
            cause = e.__cause__ if isinstance(e, _MaybePosted) and e.__cause__ else e
            msg = f"unexpected error ({type(cause).__name__}); it is unclear whether it was posted"
            return self._unknown(c, now, msg, post)

    # -- steps ------------------------------------------------------------------------------

    def _run(self, c: Claim, snapshot: tuple[Any, list[Any]]) -> Outcome:
        post, deliveries = snapshot
        personas = self.app.personas
        persona = personas.get(post.persona)
        entry = entry_from_post(post)
        adapter: Adapter | None = None
        parts: list[dict[str, str | None]] | None = None
        blog_url = next(
            (d.remote_url for d in deliveries if d.role == "blog" and d.state == PUBLISHED), None
        )
        if c.role == "blog":
            if persona.blog is None:
                raise PermanentError(
                    f"persona '{persona.name}' no longer has a blog",
                    hint=f"add [blog] to {persona.source} and 'crosspost retry {c.post_id}'",
                )
            ctx = context_for(self.app, persona, "blog")
            text = post.body
        else:
            account = persona.account(c.target)
            if account is None:
                raise PermanentError(
                    f"account '{c.target}' is no longer in persona '{persona.name}'",
                    hint=f"check {persona.source}",
                )
            ctx = context_for(self.app, persona, c.target)
            from .sharetext import render_for, share_source, thread_for

            limit = counting = None
            if registry.spec(account.platform).live_rules is not None:
                # the server's own limit and counting (a Mastodon instance's, read from its
                # API and cached for a day); the same adapter publishes below
                adapter = make_adapter(ctx)
                rules = adapter.share_rules()  # type: ignore[attr-defined]
                if rules is not None:
                    limit, counting = rules.limit, rules.counting
            # shares of a post without a blog target have no URL to link to
            src = share_source(entry)
            # a thread begun by an earlier attempt goes on with the parts it recorded
            parts = _stored_parts(deliveries, c)
            if parts is None:
                texts = thread_for(src, persona, account, blog_url, limit, counting)
                if texts is not None:
                    parts = [{"text": t} for t in texts]
            if parts is not None:
                text = "\n\n".join(str(p["text"]) for p in parts)
            else:
                text = render_for(src, persona, account, blog_url, limit, counting)
            entry.share = {**entry.share, c.target: text}
        blocked = self._guard(c, post, entry, persona.name)
        if blocked is not None:
            return blocked
        if not c.reconcile:  # after a crash the post may be out already: ask first
            waiting = self._separation(c, post, deliveries)
            if waiting is not None:
                return waiting
        if adapter is None:
            adapter = make_adapter(ctx)
        pub = Publication(
            post_id=c.post_id,
            persona=persona.name,
            target=c.target,
            platform=c.platform,
            idempotency_key=self._key(deliveries, c),
            kind=post.kind,
            title=post.title,
            body=post.body,
            summary=post.summary,
            tags=tuple(post.tags),
            categories=tuple(post.categories),
            slug=post.slug,
            lang=post.lang,
            scheduled_at=post.scheduled_at,
            text=text,
            canonical_url=blog_url,
            # images of the body go to the blog with the body; shares attach front matter media
            media=tuple(
                MediaItem(Path(m["path"]), m.get("alt", ""), ref=m.get("ref"))
                for m in post.media
                if c.role == "blog" or not m.get("ref")
            ),
        )
        if parts is not None:
            return self._thread(c, adapter, pub, parts, text, post)
        if c.reconcile:
            found = self._ask(c, adapter, pub)
            if isinstance(found, LookupUnsupported):
                msg = (
                    f"an earlier attempt may have posted to {c.target}, and {c.platform} "
                    f"cannot tell ({found})"
                )
                return self._unknown(c, utcnow(), msg, post, text=text)
            if found is not None:
                return self._published(c, found, text, "found from an earlier attempt")
        return self._published(c, self._send(c, adapter, pub), text)

    def _ask(
        self, c: Claim, adapter: Adapter, pub: Publication
    ) -> Result | LookupUnsupported | None:
        """What an earlier attempt created, if anything (``LookupUnsupported``: the platform
        cannot tell). An unexpected failure may follow a post that went out: maybe posted."""
        try:
            with self.gate(c.platform):
                return adapter.lookup(pub)
        except (CrosspostError, Stopping):
            raise
        except LookupUnsupported as e:
            return e
        except Exception as e:
            raise _MaybePosted() from e

    def _send(self, c: Claim, adapter: Adapter, pub: Publication) -> Result:
        """Publish; an unexpected failure may follow a post that went out: maybe posted."""
        try:
            with self.gate(c.platform):
                return adapter.publish(pub)
        except (CrosspostError, Stopping):
            raise
        except Exception as e:
            raise _MaybePosted() from e

    def _thread(
        self,
        c: Claim,
        adapter: Adapter,
        first: Publication,
        parts: list[dict[str, str | None]],
        text: str,
        post: Any,
    ) -> Outcome:
        """Send the parts of a thread not yet recorded, each answering the one before.

        Every part's ids are written as soon as the platform created it: an attempt after a
        crash or a failure starts after the last recorded part. The first part not recorded
        is looked up first when the attempt before may have sent it (``reconcile``); the parts
        after it cannot have been sent, since each waits for the one before to be recorded.
        """
        done = [p for p in parts if p.get("remote_id")]
        if [p.get("remote_id") for p in parts[: len(done)]] != [p["remote_id"] for p in done]:
            raise PermanentError(
                f"the recorded parts of the thread to {c.target} are out of order",
                hint=f"check {c.target}; 'crosspost resolve' records the thread by hand",
            )
        if not done and not record_parts(self.app.store, c, parts):
            return Outcome(c, "superseded", "lease lost before the thread was started")
        results = [_part_result(p) for p in done]
        ask_first = c.reconcile
        for k in range(len(done), len(parts)):
            pub = replace(
                first,
                text=str(parts[k]["text"]),
                idempotency_key=part_key(first.idempotency_key, k),
                reply_to=results[-1] if results else None,
                thread_root=results[0] if results else None,
                # images and the link card go with the first part
                media=first.media if k == 0 else (),
                canonical_url=first.canonical_url if k == 0 else None,
            )
            found: Result | None = None
            if ask_first:
                asked = self._ask(c, adapter, pub)
                if isinstance(asked, LookupUnsupported):
                    msg = (
                        f"an earlier attempt may have posted part {k + 1} of {len(parts)} of "
                        f"the thread to {c.target}, and {c.platform} cannot tell ({asked})"
                    )
                    return self._unknown(c, utcnow(), msg, post, text=text)
                found = asked
                ask_first = False
            if found is None:
                found = self._send(c, adapter, pub)
            else:
                log.info(
                    "post %s to %s: part %d found from an earlier attempt",
                    c.post_id,
                    c.target,
                    k + 1,
                )
            parts[k] = {**parts[k], **_part_ids(found)}
            results.append(found)
            if not record_parts(self.app.store, c, parts):
                return Outcome(c, "superseded", "lease lost while the thread was being sent")
        how = f"as a thread of {len(parts)}"
        return self._published(c, results[0], text, how)

    def _guard(self, c: Claim, post: Post, entry: Entry, persona: str) -> Outcome | None:
        from .checking import check_entry
        from .guardkey import guard_secret

        p = self.app.personas.get(persona)
        report = check_entry(
            self.app.personas, p, entry, targets=[c.target], secret=guard_secret(self.app)
        )
        if post.media:
            report = report.merged(self._same_image(p, post, entry))
        report = report.with_allowances(post.allow)
        if not report.blocked:
            return None
        # stored (the delivery's error, the audit log, the log): no matched text, only where
        # it is; one finding per field it was found in, each said once
        reasons = "; ".join(dict.fromkeys(finding_summary(f) for f in report.findings if f.blocks))
        self.app.store.audit(
            [
                AuditEntry(
                    kind="blocked",
                    persona=persona,
                    rule=f.rule,
                    detail=finding_detail(f, at="publish", target=c.target),
                )
                for f in report.findings
                if f.blocks
            ],
            post_id=c.post_id,
        )
        msg = f"blocked by the leak guard at publish time: {reasons}"
        hint = "edit the profile or cancel the post; the guard rechecks on retry"
        if self._record(c, FAILED, utcnow(), error=msg, hint=hint):
            # the notice names rule and field only: an owner may be another persona
            said = f"blocked by the leak guard at publish time: {blocked_reasons(report.findings)}"
            self._notify(notices.BLOCKED, c, post, said, hint)
        log.error("%s: %s (%s)", describe(self.app, c.post_id, post, c.target), msg, hint)
        return Outcome(c, FAILED, msg, BLOCKED)

    def _same_image(self, persona: Persona, post: Post, entry: Entry) -> list[Finding]:
        """``media.same-image`` again, against what the other personas have (maybe) put out:
        queueing compared the images with every queued and published one, but a photo another
        persona published since (queued with ``--allow``, or from another machine sharing the
        database at the same moment) is a link only once it is out, and this post must not
        complete it. Queued ones do not count here: whichever goes out second is held."""
        from .checking import check_same_images, stored_image_hashes

        # what was out before this post was queued, queueing compared already
        out = self.app.store.media_of_others(
            persona.name, (PUBLISHING, UNKNOWN, PUBLISHED, PARTIAL), changed_since=post.created_at
        )
        return check_same_images(persona, entry, stored_image_hashes(post), out)

    def _separation(self, c: Claim, post: Post, deliveries: list[Delivery]) -> Outcome | None:
        """Keep personas' ``separation`` at the moment of publishing, not only in the schedule.

        Queueing checks scheduled times; a post that goes out late (downtime, retries) may
        land next to another persona's. Such a delivery waits until the window has passed.
        Only what other personas actually published, or are publishing now and was scheduled
        earlier, counts, so two late posts never wait for each other. Once any target of the
        post is out, the rest follow (the post's moment has passed); ``--allow separation``
        given at queueing applies here too.
        """
        from .guard.findings import rule_matches

        personas = self.app.personas
        own = personas.get(post.persona).separation or timedelta(0)
        gaps = {p.name: max(own, p.separation or timedelta(0)) for p in personas}
        widest = max([own, *gaps.values()])
        if widest <= timedelta(0) or any(d.state == PUBLISHED for d in deliveries):
            return None
        if any(rule_matches(rule, "separation") for rule in post.allow):
            return None
        now = utcnow()
        held = _imported_separation(self.app.store, post.persona, gaps, own, now)
        if held is not None:  # a post made outside crosspost, read back by audit-exposure
            until, i = held
            tz = personas.get(post.persona).tz
            note = (
                f"waiting for the separation from persona '{i.persona}' (its post "
                f"{i.url or i.remote_id} on {i.target}, read by audit-exposure, went out at "
                f"{format_local(i.published_at, tz)}): not before {format_local(until, tz)}"
            )
            unclaim(self.app.store, c, now, due_at=until, note=note)
            log.info("post %s to %s: %s", c.post_id, c.target, note)
            return Outcome(c, QUEUED, note, WAITING)
        conflicts: list[tuple[datetime, OtherPublication]] = []
        for o in others_recent(self.app.store, post.persona, now - widest):
            gap = gaps.get(o.persona, own)
            if o.published_at is not None:
                if now - o.published_at < gap:
                    conflicts.append((o.published_at + gap, o))
            elif gap > timedelta(0) and (o.scheduled_at, o.post_id) < (post.scheduled_at, post.id):
                conflicts.append((now + gap, o))
        if not conflicts:
            return None
        until, o = max(conflicts, key=lambda x: x[0])
        tz = personas.get(post.persona).tz
        went = (
            f"went out at {format_local(o.published_at, tz)}" if o.published_at else "is going out"
        )
        note = (
            f"waiting for the separation from persona '{o.persona}' (its post {o.post_id} "
            f"{went}): not before {format_local(until, tz)}"
        )
        unclaim(self.app.store, c, now, due_at=until, note=note)
        log.info("post %s to %s: %s", c.post_id, c.target, note)
        return Outcome(c, QUEUED, note, WAITING)

    @staticmethod
    def _key(deliveries: list[Delivery], c: Claim) -> str:
        return next(d.idempotency_key for d in deliveries if d.id == c.delivery_id)

    def _published(self, c: Claim, r: Result, text: str, how: str = "") -> Outcome:
        ok = self._record(
            c, PUBLISHED, utcnow(), remote_id=r.remote_id, remote_url=r.url, text=text
        )
        if not ok:
            return Outcome(c, "superseded", "lease lost before the result was recorded")
        log.info("published post %s to %s: %s %s", c.post_id, c.target, r.url or r.remote_id, how)
        return Outcome(c, PUBLISHED, r.url or r.remote_id)

    def _transient(self, c: Claim, e: TransientError, post: Any | None) -> Outcome:
        now = utcnow()
        policy = self.app.settings.daemon.retry
        if c.attempt >= policy.max_attempts:
            msg = f"gave up after {c.attempt} attempts: {e.message}"
            hint = e.hint or f"run 'crosspost retry {c.post_id} --target {c.target}'"
            if self._record(c, FAILED, now, error=msg, hint=hint, needs_lookup=e.maybe_sent):
                self._notify(notices.FAILED, c, post, msg, hint)
            log.error(
                "%s failed: %s (%s)", describe(self.app, c.post_id, post, c.target), msg, hint
            )
            return Outcome(c, FAILED, msg)
        delay = backoff(c.attempt, policy.base_delay, policy.max_delay)
        if e.retry_after is not None:
            delay = timedelta(seconds=e.retry_after + random.uniform(0, 1))
        due = now + delay
        tz = self._tz(c, post)
        msg = f"attempt {c.attempt} failed: {e.message}; retrying at {format_local(due, tz)}"
        self._record(
            c,
            QUEUED,
            now,
            error=msg,
            hint=e.hint,
            due_at=due,
            needs_lookup=e.maybe_sent or c.reconcile,
        )
        log.warning(
            "%s: attempt %d failed: %s; retrying at %s",
            describe(self.app, c.post_id, post, c.target),
            c.attempt,
            e.message,
            format_local(due, tz),
        )
        return Outcome(c, QUEUED, msg, RETRYING)

    def _tz(self, c: Claim, post: Any | None) -> tzinfo:
        """The timezone of the claim's persona, for times in notes; UTC if unreadable."""
        if post is None:
            try:
                post, _ = self.app.store.snapshot(c.post_id)
            except CrosspostError:
                return UTC
        return persona_tz(self.app, post.persona)

    def _fail(
        self, c: Claim, message: str, hint: str | None, post: Any | None, *, rejected: bool = False
    ) -> Outcome:
        # perhaps a revoked token: after 'accounts login' the next attempt reads the new one
        credentials.forget(c.target)
        if self._record(c, FAILED, utcnow(), error=message, hint=hint):
            event = notices.CREDENTIALS if rejected else notices.FAILED
            self._notify(event, c, post, message, hint)
        log.error(
            "%s failed: %s%s",
            describe(self.app, c.post_id, post, c.target),
            message,
            f" ({hint})" if hint else "",
        )
        return Outcome(c, FAILED, message)

    def _unknown(
        self, c: Claim, now: datetime, message: str, post: Any | None, **kw: object
    ) -> Outcome:
        """The platform may or may not have the post: the user has to look."""
        hint = self._unknown_hint(c)
        if self._record(c, UNKNOWN, now, error=message, hint=hint, **kw):
            self._notify(notices.UNKNOWN, c, post, message, hint)
        log.error(
            "%s: outcome unknown: %s (%s)",
            describe(self.app, c.post_id, post, c.target),
            message,
            hint,
        )
        return Outcome(c, UNKNOWN, message)

    def _unknown_hint(self, c: Claim) -> str:
        return (
            f"check {c.target} for the post; if it is not there run "
            f"'crosspost retry {c.post_id} --target {c.target}', if it is, "
            f"'crosspost resolve {c.post_id} --target {c.target} --url URL' records it"
        )

    def _notify(
        self, event: str, c: Claim, post: Any | None, message: str, hint: str | None
    ) -> None:
        """Keep a notice for the post's own persona, after the delivery's result is recorded
        (in a transaction of its own: whatever happens to the notice, the result stands)."""
        if post is None:
            return
        notices.safely(
            f"post {c.post_id} to {c.target}",
            lambda: notices.record(
                self.app.store,
                self.app.personas.get(post.persona),
                event,
                post,
                targets=[c.target],
                error=message,
                hint=hint,
                delivery_id=c.delivery_id,
            ),
        )

    def _record(self, c: Claim, state: str, now: datetime, **kw: object) -> bool:
        ok = record(self.app.store, c, state=state, now=now, **kw)  # type: ignore[arg-type]
        if not ok:
            log.warning(
                "post %s to %s: claim %s was superseded (lease expired); result not recorded",
                c.post_id,
                c.target,
                c.fence,
            )
        return ok


def _imported_separation(
    store: Store, persona: str, gaps: dict[str, timedelta], own: timedelta, now: datetime
) -> tuple[datetime, ImportedPost] | None:
    """The latest end of another persona's separation window around a post it made outside
    crosspost (read back by ``crosspost audit-exposure``), if ``now`` is inside one: a post
    made by hand links the accounts as surely as one crosspost sent."""
    widest = max([own, *gaps.values()])
    held = [
        (i.published_at + gaps.get(i.persona, own), i)
        for i in store.imported_times(now - widest, now)
        if i.persona != persona and now - i.published_at < gaps.get(i.persona, own)
    ]
    return max(held, key=lambda x: x[0]) if held else None
