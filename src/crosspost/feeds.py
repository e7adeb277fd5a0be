"""Feeds in: each new item of a persona's ``[[feeds]]`` becomes a share post of that persona.

For someone who already blogs elsewhere (publish on your own site, syndicate elsewhere): the
blog's RSS or Atom feed is read with a conditional GET (``If-None-Match`` /
``If-Modified-Since``, so an unchanged feed costs one short answer), parsed by feedparser, and
every item not seen before is queued like ``crosspost queue --text`` would queue it: through
the leak guard, to the persona's own accounts. An item the guard blocks is stored held (never
published) and the persona is notified.

"Seen" is a row of :class:`~crosspost.models.FeedItem`, written in the same transaction as the
post it queued. An item is known by its GUID within its feed and by its normalised link within
its persona, so an edited title, a changed GUID, a changed link (one at a time) or the same
item in two feeds of one persona is never shared again, and two pollers at once (several
daemons on one PostgreSQL queue) share it once: the unique keys refuse the second.

The first read of a feed does not share its old items: what was published before ``since``
(default: the moment the feed was first read) is recorded as old and left alone. A feed that
is not well-formed XML, or not a feed, or cannot be fetched, changes nothing and is read again
at the next check.
"""

from __future__ import annotations

import html
import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from .errors import CrosspostError, Refused
from .models import FeedItem, FeedState, Post, utcnow

if TYPE_CHECKING:
    from .app import App
    from .entries import Entry
    from .profiles import FeedConfig, Persona
    from .queueing import Plan
    from .store import Store

log = logging.getLogger("crosspost.feeds")

# FeedItem.outcome
QUEUED = "queued"
HELD = "held"
OLD = "old"
DUPLICATE = "duplicate"
ALIAS = "alias"

#: what a feed reader asks for
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
#: the most of an item's summary a share text takes (the platform's limit cuts further)
SUMMARY_CHARS = 300
#: query parameters that say where a reader came from, not what the page is
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_)", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


class FeedProblem(CrosspostError):
    """The feed could not be read or parsed; nothing was queued, nothing changed."""


@dataclass(frozen=True)
class Item:
    """What a share of one feed item is made from."""

    guid: str | None
    #: the item's link as the feed gives it (what is shared)
    link: str
    title: str | None
    summary: str | None
    tags: tuple[str, ...]
    published: datetime | None

    @property
    def key(self) -> str:
        return normalise_link(self.link)


@dataclass
class Fetched:
    """One answer of a feed: its bytes, or ``not_modified`` (304)."""

    content: bytes = b""
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None


@dataclass
class FeedCheck:
    """What one check of one feed did."""

    persona: str
    feed: str
    #: "checked", "not modified", "not due" or "problem"
    status: str
    queued: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    #: items left alone for being older than ``since`` (the first read's backlog)
    old: int = 0
    #: items seen before (or queued for the persona already)
    known: int = 0
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "persona": self.persona,
            "feed": self.feed,
            "status": self.status,
            "queued": self.queued,
            "held": self.held,
            "old": self.old,
            "known": self.known,
            "problem": self.problem,
        }


# -- identity ---------------------------------------------------------------------------------


def normalise_link(url: str) -> str:
    """One item's link however the feed writes it: without scheme, ``www.``, default port,
    fragment, trailing slash and tracking parameters, the rest of the query sorted."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/+$", "", parts.path) or ""
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    return f"{host}{path}" + (f"?{query}" if query else "")


# -- reading ----------------------------------------------------------------------------------


def fetch(
    feed: FeedConfig,
    persona: Persona,
    state: FeedState | None,
    timeout: float | None,
    cache_dir: Path | None = None,
    foreign: Mapping[str, str] | None = None,
) -> Fetched:
    """The feed's current bytes, or ``not_modified``; a file feed is read from disk.

    ``foreign`` maps the other personas' domains to their names. A redirect into one of them
    is not followed: the request would reach the other persona's server on this persona's
    route (its address and User-Agent in that server's log, side by side), and the loading
    check that refuses such a feed URL (``_foreign_feeds``) cannot see a redirect.
    """
    if not feed.is_http:
        try:
            return Fetched(Path(feed.url).read_bytes())
        except OSError as e:
            raise FeedProblem(
                f"feed {feed.url} of persona '{persona.name}': cannot read it ({e.strerror})",
                hint=f"fix the path in {persona.source} (relative paths start at the config's "
                "folder)",
            ) from None
    import httpx

    from .contexts import persona_route

    agent, proxy = persona_route(persona, cache_dir)
    headers = {"User-Agent": agent, "Accept": ACCEPT}
    if state is not None and state.etag:
        headers["If-None-Match"] = state.etag
    if state is not None and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified

    def refuse_foreign(request: httpx.Request) -> None:
        owner = _owner_of(request.url.host, foreign or {})
        if owner is not None:
            raise FeedProblem(
                f"feed {feed.url} of persona '{persona.name}': redirected to {request.url}, "
                f"which belongs to persona '{owner}'; not followed, nothing was read",
                hint=f"point the feed's url in {persona.source} at this persona's own feed, "
                "or fix the redirect on its server",
            )

    try:
        with httpx.Client(
            headers=headers,
            proxy=proxy,
            timeout=timeout if timeout is not None else 30.0,
            follow_redirects=True,
            max_redirects=5,
            event_hooks={"request": [refuse_foreign]},
        ) as client:
            r = client.get(feed.url)
    except httpx.HTTPError as e:
        raise FeedProblem(
            f"feed {feed.url} of persona '{persona.name}': no answer ({type(e).__name__}: {e})",
            hint="it is read again at the next check",
        ) from None
    if r.status_code == 304:
        return Fetched(not_modified=True)
    if r.status_code >= 400 or r.status_code < 200:
        raise FeedProblem(
            f"feed {feed.url} of persona '{persona.name}': the server answered "
            f"{r.status_code} {r.reason_phrase}",
            hint=f"check the feed's url in {persona.source}; it is read again at the next check",
        )
    return Fetched(
        r.content,
        etag=r.headers.get("ETag"),
        last_modified=r.headers.get("Last-Modified"),
        content_type=r.headers.get("Content-Type"),
    )


def _owner_of(host: str, foreign: Mapping[str, str]) -> str | None:
    """The persona whose domain ``host`` is or is under (``www.`` ignored), if any."""
    host = host.lower().rstrip(".").removeprefix("www.")
    for domain, owner in foreign.items():
        if host == domain or host.endswith("." + domain):
            return owner
    return None


def parse(fetched: Fetched, where: str) -> list[Item]:
    """The items of a feed, newest first as feeds list them; FeedProblem for anything that is
    not a well-formed RSS or Atom document (feedparser's "bozo")."""
    import feedparser

    headers = {"content-type": fetched.content_type} if fetched.content_type else {}
    parsed = feedparser.parse(io.BytesIO(fetched.content), response_headers=headers)
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        # a wrong charset or media type in the headers is the server's slip, not the feed's:
        # the document itself parsed
        benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
        if not isinstance(exc, benign):
            line = getattr(exc, "getLineNumber", lambda: None)()
            at = f" at line {line}" if line else ""
            raise FeedProblem(
                f"{where}: not well-formed XML{at} ({_one_line(exc)}); nothing was shared",
                hint="fix the feed (a validator such as validator.w3.org/feed says where); "
                "it is read again at the next check",
            )
    if not parsed.get("version") and not parsed.get("entries"):
        raise FeedProblem(
            f"{where}: not an RSS or Atom feed; nothing was shared",
            hint="point url at the blog's feed (often /feed/, /index.xml or /atom.xml)",
        )
    items = []
    for e in parsed.entries:
        link = (e.get("link") or "").strip()
        if not link:
            continue  # nothing to share: an item without a link has no canonical URL
        items.append(
            Item(
                guid=(e.get("id") or "").strip() or None,
                link=link,
                title=_text(e.get("title")),
                summary=_text(e.get("summary")),
                tags=tuple(t["term"] for t in e.get("tags", []) if t.get("term")),
                published=_when(e.get("published_parsed") or e.get("updated_parsed")),
            )
        )
    return items


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _text(value: str | None) -> str | None:
    """Plain text of a title or summary that may be HTML."""
    if not value:
        return None
    text = " ".join(html.unescape(_TAG.sub(" ", value)).split())
    return text or None


def _when(parsed: Any) -> datetime | None:
    """feedparser gives dates as UTC ``struct_time``."""
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def since_of(feed: FeedConfig, persona: Persona) -> datetime | None:
    """``since`` as an aware time: a date is its midnight, a time without offset is local."""
    v = feed.since
    if v is None:
        return None
    if not isinstance(v, datetime):
        assert isinstance(v, date)
        v = datetime.combine(v, time())
    if v.tzinfo is None:
        from .when import localize

        return localize(v, persona.tz).utc
    return v.astimezone(UTC)


# -- checking ---------------------------------------------------------------------------------


def check_all(
    app: App, persona: str | None = None, *, force: bool = True, now: datetime | None = None
) -> list[FeedCheck]:
    """Check every feed (of ``persona``); without ``force`` only those last checked
    ``daemon.feeds_interval`` ago or longer (several daemons, ``daemon --once`` from cron)."""
    personas = [app.personas.get(persona)] if persona else list(app.personas)
    # one moment for the whole round: the next round, one interval later, finds each feed due
    # however long the feeds before it took this time
    now = now or utcnow()
    out = []
    for p in personas:
        for f in p.feeds:
            try:
                out.append(check_feed(app, p, f, force=force, now=now))
            except Exception as e:
                from .dberrors import store_problem

                if store_problem(e) is not None:
                    raise  # the database, not this feed: the caller says so once
                # one feed's surprise (a parser's bug) leaves the other feeds their turn
                problem = f"feed {f.url} of persona '{p.name}': not checked ({type(e).__name__})"
                log.exception("%s", problem)
                out.append(FeedCheck(p.name, f.url, "problem", problem=problem))
    return out


def check_feed(
    app: App, persona: Persona, feed: FeedConfig, *, force: bool = True, now: datetime | None = None
) -> FeedCheck:
    """Read one feed and queue its new items; a problem is logged and returned, never raised."""
    now = now or utcnow()
    store = app.store
    state = _state(store, persona.name, feed.url)
    result = FeedCheck(persona.name, feed.url, "checked")
    # a second's slack: the daemon's interval job must not find its own last check too recent
    interval = app.settings.daemon.feeds_interval - timedelta(seconds=1)
    if not force and state is not None and state.checked_at and now - state.checked_at < interval:
        result.status = "not due"
        return result
    try:
        timeout = app.settings.daemon.request_timeout.total_seconds()
        foreign = {
            d: p.name for p in app.personas if p is not persona for d in p.claimed()["domain"]
        }
        fetched = fetch(feed, persona, state, timeout, app.cache_dir, foreign)
        if fetched.not_modified:
            result.status = "not modified"
            _checked(store, persona.name, feed.url, now, error=None)
            return result
        items = parse(fetched, f"feed {feed.url} of persona '{persona.name}'")
    except FeedProblem as e:
        result.status = "problem"
        result.problem = str(e)
        log.warning("%s", result.problem)
        if state is not None:
            _checked(store, persona.name, feed.url, now, error=e.message)
        return result
    # the first read is over once its state is stored: a crash before that reads it as the
    # first again (undated items stay unshared)
    first = state is None
    cutoff = since_of(feed, persona) or (state.first_seen_at if state is not None else now)
    for item in reversed(items):  # oldest first: shared in the order they were written
        _handle(app, persona, feed, item, result, cutoff=cutoff, first=first)
    if first:
        _first_state(store, persona.name, feed.url, now)
    # validators only when every item was handled: an item that could not be queued (no free
    # slot) is tried again with the next full read, not skipped by a 304
    done = result.problem is None
    _checked(
        store,
        persona.name,
        feed.url,
        now,
        error=result.problem,
        etag=fetched.etag if done else None,
        last_modified=fetched.last_modified if done else None,
    )
    if result.queued or result.held:
        log.info(
            "feed %s of persona '%s': %d new item(s) queued, %d held",
            feed.url,
            persona.name,
            len(result.queued),
            len(result.held),
        )
    return result


def _handle(
    app: App,
    persona: Persona,
    feed: FeedConfig,
    item: Item,
    result: FeedCheck,
    *,
    cutoff: datetime,
    first: bool,
) -> None:
    store = app.store
    known = _known(store, persona.name, feed.url, item)
    if known:
        result.known += 1
        _alias(store, persona.name, feed.url, item, known)
        return
    too_old = item.published < cutoff if item.published is not None else first
    if too_old:
        result.old += 1
        _record(store, persona.name, feed.url, item, OLD)
        return
    try:
        outcome, post_id = queue_item(app, persona, feed, item)
    except CrosspostError as e:  # no slot free, a broken template: tried again next time
        msg = f"feed {feed.url} of persona '{persona.name}': item {item.link} not queued: {e}"
        log.warning("%s", msg)
        result.problem = msg
        return
    if outcome == QUEUED and post_id is not None:
        result.queued.append(post_id)
    elif outcome == HELD and post_id is not None:
        result.held.append(post_id)
    else:
        result.known += 1


def share_text(persona: Persona, feed: FeedConfig, item: Item) -> str:
    """The share post of an item: the feed's template (else the persona's ``share``) filled
    from the item; the platform's limit is applied when it is sent (the link is never cut)."""
    from .compose import ShareInput, render_share
    from .entries import first_words

    summary = first_words(item.summary, SUMMARY_CHARS) if item.summary else None
    data = ShareInput(
        title=item.title, url=item.link, summary=summary, tags=item.tags, body=summary
    )
    return render_share(feed.template or persona.share, data)


def queue_item(app: App, persona: Persona, feed: FeedConfig, item: Item) -> tuple[str, int | None]:
    """Queue the share post of ``item`` (held when the guard blocks it) and record the item
    in the same transaction. Returns the outcome and the post's id (None: not queued)."""
    from .entries import Entry
    from .queueing import blocked_audit, build_post, plan_entry, refuse_conflicts

    text = share_text(persona, feed, item)
    entry = Entry(raw=text, body=text, offsets={"body": 0})
    try:
        refuse_conflicts(app.store, persona, entry)
    except Refused:  # the same text is queued or out already (queued by hand, say)
        _record(app.store, persona.name, feed.url, item, DUPLICATE)
        return DUPLICATE, None
    plan = plan_entry(app, entry, persona.name, feed.accounts, None, feed.when == "next_slot")
    plan = _keep_separation(app, persona, feed, entry, plan)
    held = plan.report.blocked
    post = build_post(plan, [])
    post.note = f"from feed {feed.url}" + (f"; {plan.when.note}" if plan.when.note else "")
    if held:
        post.note = f"held: the leak guard blocked this item of feed {feed.url}"
    outcome = HELD if held else QUEUED

    targets = [t.name for t in plan.targets]

    def seen(s: Session, p: Post) -> None:
        s.add(
            FeedItem(
                persona=persona.name,
                feed=feed.url,
                guid=item.guid,
                link=item.key,
                outcome=outcome,
                post_id=p.id,
            )
        )
        if held:  # the notice with the held post, in one transaction: never one without it
            _notice_of_block(s, app, persona, feed, p, plan.report.findings, targets)

    audit = blocked_audit(persona.name, plan.report, feed.url) if held else []
    try:
        app.store.enqueue(post, plan.targets, audit, held=held, also=seen)
    except IntegrityError:  # another poller queued it a moment ago: theirs stands
        return DUPLICATE, None
    assert post.id is not None
    if held:
        from .notices import blocked_reasons

        log.warning(
            "feed item of persona '%s' held as post %s: the leak guard blocked it (%s)",
            persona.name,
            post.id,
            blocked_reasons(plan.report.findings),
        )
    return outcome, post.id


#: how often a share held back only by ``separation`` is moved to a later time before it is
#: held instead (each move passes another persona's window)
MOVES = 10


def _keep_separation(
    app: App, persona: Persona, feed: FeedConfig, entry: Entry, plan: Plan
) -> Plan:
    """A share blocked only by ``separation`` (another persona posts around then) goes out
    right after the other persona's window instead of being held: the time moves, the text
    is checked again at the new one. Any other finding still holds it."""
    from .queueing import plan_entry
    from .when import When

    for _ in range(MOVES):
        blocking = [f for f in plan.report.findings if f.blocks]
        if not blocking or any(f.rule != "separation" for f in blocking):
            return plan
        at = plan.when.utc
        own = persona.separation or timedelta(0)
        gaps = {p.name: max(own, p.separation or timedelta(0)) for p in app.personas}
        widest = max(gaps.values(), default=timedelta(0))
        ends = [
            p.scheduled_at + gaps.get(p.persona, own)
            for p in app.store.recent_posts(at - widest, at + widest)
            if p.persona != persona.name and abs(p.scheduled_at - at) < gaps.get(p.persona, own)
        ]
        if not ends:
            return plan
        later = max(ends)
        later = later.replace(second=0, microsecond=0) + timedelta(minutes=1)  # a whole minute
        note = f"moved from {at:%H:%M} UTC to keep the separation from another persona's post"
        plan = plan_entry(
            app, entry, persona.name, feed.accounts, None, False, when=When(later, note)
        )
    return plan


def _notice_of_block(
    s: Session,
    app: App,
    persona: Persona,
    feed: FeedConfig,
    post: Post,
    findings: Sequence[Any],
    targets: list[str],
) -> None:
    from .notices import BLOCKED, blocked_reasons, record

    record(
        app.store,
        persona,
        BLOCKED,
        post,
        targets=targets,
        error=f"a new item of feed {feed.url} was blocked by the leak guard: "
        f"{blocked_reasons(findings)}; it is held and will not be published",
        hint=f"'crosspost show {post.id}', then edit it ('crosspost edit {post.id} --text …') "
        f"and release it, or cancel it ('crosspost cancel {post.id}')",
        within=s,
    )


# -- the store --------------------------------------------------------------------------------


def _state(store: Store, persona: str, feed: str) -> FeedState | None:
    with store.read() as s:
        return s.get(FeedState, (persona, feed))


def _first_state(store: Store, persona: str, feed: str, now: datetime) -> None:
    """The feed's state row, made now if no poller made it first."""
    values = {"persona": persona, "feed": feed, "first_seen_at": now}
    table = FeedState.__table__  # type: ignore[attr-defined]
    stmt: Any
    if store.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).values(**values).on_conflict_do_nothing()
    with store.write_conn() as conn:
        conn.execute(stmt)


def _checked(
    store: Store,
    persona: str,
    feed: str,
    now: datetime,
    *,
    error: str | None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    """Remember the check; validators only from an answer whose items were all handled."""
    with store.write() as s:
        state = s.get(FeedState, (persona, feed))
        if state is None:
            return
        state.checked_at = now
        state.last_error = error
        if etag is not None or last_modified is not None:
            state.etag = etag
            state.last_modified = last_modified
        s.add(state)


def _known(store: Store, persona: str, feed: str, item: Item) -> list[FeedItem]:
    """The rows that say ``item`` was seen: its GUID in this feed, or its link anywhere in
    the persona's feeds."""
    terms = [col(FeedItem.link) == item.key]
    if item.guid:
        terms.append(and_(col(FeedItem.feed) == feed, col(FeedItem.guid) == item.guid))
    with store.read() as s:
        return list(s.exec(select(FeedItem).where(col(FeedItem.persona) == persona, or_(*terms))))


def _alias(store: Store, persona: str, feed: str, item: Item, known: list[FeedItem]) -> None:
    """Keep the new GUID or link of a known item, so a later change of the other one still
    finds it."""
    origin = known[0]
    if not any(k.link == item.key for k in known):
        _record(store, persona, feed, item, ALIAS, guid=None, post_id=origin.post_id)
    if item.guid and not any(k.feed == feed and k.guid == item.guid for k in known):
        _record(store, persona, feed, item, ALIAS, link=None, post_id=origin.post_id)


_KEEP = object()


def _record(
    store: Store,
    persona: str,
    feed: str,
    item: Item,
    outcome: str,
    *,
    guid: Any = _KEEP,
    link: Any = _KEEP,
    post_id: int | None = None,
) -> None:
    """A seen item without a post of its own; one that another poller recorded first is
    left as it is."""
    row = FeedItem(
        persona=persona,
        feed=feed,
        guid=item.guid if guid is _KEEP else guid,
        link=item.key if link is _KEEP else link,
        outcome=outcome,
        post_id=post_id,
    )
    try:
        with store.write() as s:
            s.add(row)
    except IntegrityError:
        pass


def seen_counts(store: Store) -> dict[tuple[str, str], dict[str, int]]:
    """Per (persona, feed): how many items had each outcome (``crosspost feeds list``)."""
    from sqlalchemy import func

    out: dict[tuple[str, str], dict[str, int]] = {}
    with store.read() as s:
        rows = s.exec(
            select(FeedItem.persona, FeedItem.feed, FeedItem.outcome, func.count()).group_by(
                col(FeedItem.persona), col(FeedItem.feed), col(FeedItem.outcome)
            )
        ).all()
    for persona, feed, outcome, n in rows:
        out.setdefault((persona, feed), {})[outcome] = int(n)
    return out


def states(store: Store) -> dict[tuple[str, str], FeedState]:
    with store.read() as s:
        return {(r.persona, r.feed): r for r in s.exec(select(FeedState))}
