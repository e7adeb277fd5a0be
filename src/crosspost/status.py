"""What ``crosspost status`` and the daemon's health endpoint report: is anything wrong?

One snapshot of the queue and the daemons, built from a few aggregate queries and keyring
reads (no platform is asked: ``crosspost accounts test`` does that), so monitoring can poll it.
``problems`` lists what needs the user; the snapshot is healthy when it is empty:

* a target failed for good, is ``unknown`` (it may or may not have gone out) or is held;
* no daemon is running while deliveries are due;
* an account's credentials are missing from the keyring, or the keyring cannot be read;
* an account's login ends within ``daemon.login_warning`` (or has ended).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from .errors import CrosspostError
from .heartbeat import DaemonState, daemons
from .logins import login_command, login_end
from .models import FAILED, HELD, QUEUED, UNKNOWN, Delivery, Post

if TYPE_CHECKING:
    from .app import App
    from .profiles import Persona

#: how far back ``failures`` looks
FAILURE_WINDOW = timedelta(hours=24)
#: target states that need the user
NEEDS_USER = (FAILED, UNKNOWN, HELD)


@dataclass
class Status:
    now: datetime
    daemons: list[DaemonState]
    #: posts by status, targets (deliveries) by state
    posts: dict[str, int]
    targets: dict[str, int]
    personas: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    #: the oldest delivery due but not published: (post id, target, due at), or None
    oldest_due: tuple[int, str, datetime] | None
    problems: list[str] = field(default_factory=list)
    #: a login ending this soon is a problem (``daemon.login_warning``)
    login_warning: timedelta = timedelta(days=7)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def running(self) -> list[DaemonState]:
        return [d for d in self.daemons if d.running]

    @property
    def lag(self) -> timedelta | None:
        return None if self.oldest_due is None else max(self.now - self.oldest_due[2], timedelta())


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def summary_of(post: Any) -> str:
    """An event's or a line's name for a post: its title, else the first words of its text."""
    if post.title:
        return str(post.title)
    words = str(post.body).split()
    text = " ".join(words[:8])
    if len(text) > 60:
        text = text[:59] + "…"
    return text + ("…" if len(words) > 8 and not text.endswith("…") else "")


def collect(app: App, now: datetime | None = None) -> Status:
    now = now or datetime.now(UTC)
    store = app.store
    personas = list(app.personas)
    with store.read() as s:
        posts = {
            str(k): int(v)
            for k, v in s.exec(select(Post.status, func.count()).group_by(col(Post.status)))
        }
        targets = {
            str(k): int(v)
            for k, v in s.exec(select(Delivery.state, func.count()).group_by(col(Delivery.state)))
        }
        due = s.exec(
            select(Delivery.post_id, Delivery.target, Delivery.due_at)
            .where(Delivery.state == QUEUED, Delivery.due_at <= now)
            .order_by(col(Delivery.due_at))
            .limit(1)
        ).first()
        failed = list(
            s.exec(
                select(Delivery, Post)
                .join(Post, col(Post.id) == col(Delivery.post_id))
                .where(
                    col(Delivery.state).in_([FAILED, UNKNOWN]),
                    Delivery.updated_at >= now - FAILURE_WINDOW,
                )
                .order_by(col(Delivery.updated_at).desc())
            )
        )
        nexts = {}
        for p in personas:
            nexts[p.name] = s.exec(
                select(Post, Delivery.due_at)
                .join(Delivery, col(Post.id) == col(Delivery.post_id))
                .where(Post.persona == p.name, Delivery.state == QUEUED)
                .order_by(col(Delivery.due_at))
                .limit(1)
            ).first()
    zones = {p.name: p.tz for p in personas}
    st = Status(
        now=now,
        daemons=daemons(store, now),
        posts=posts,
        targets=targets,
        personas=[],
        failures=[
            {
                "post_id": post.id,
                "persona": post.persona,
                "target": d.target,
                "platform": d.platform,
                "state": d.state,
                "error": d.last_error,
                "hint": d.hint,
                "at": iso(d.updated_at),
                "at_local": _local(d.updated_at, zones.get(post.persona)),
            }
            for d, post in failed
        ],
        oldest_due=(due[0], due[1], due[2]) if due is not None else None,
        login_warning=app.settings.daemon.login_warning,
    )
    for p in personas:
        found = nexts[p.name]
        nxt = None
        if found is not None:
            post, at = found
            nxt = {
                "id": post.id,
                "summary": summary_of(post),
                "at": iso(at),
                "at_local": _local(at, p.tz),
            }
        st.personas.append(
            {
                "name": p.name,
                "timezone": p.timezone,
                "next": nxt,
                "credentials": credentials_of(p),
            }
        )
    st.problems = _problems(st)
    return st


def _local(at: datetime, tz: tzinfo | None) -> str:
    from .when import format_local

    return format_local(at, tz or UTC)


def credentials_of(p: Persona) -> list[dict[str, Any]]:
    """Per target of ``p``: are its secrets in the keyring? ``present``, ``missing``, ``none
    needed`` or ``unreadable`` (the keyring failed); and when a present login ends
    (``login_ends``, None when it does not expire). Reads the keyring only."""
    from . import credentials
    from .platforms.registry import spec

    out = []
    for target, platform in p.targets():
        sp = spec(platform)
        fields = [f.name for f in sp.credential_fields if f.secret]
        state, detail, ends = "present", None, None
        if sp.local or not fields:
            state = "none needed"
        else:
            service = credentials.service_name(p.name, target)
            try:
                missing = [f for f in fields if credentials.get_secret(service, f) is None]
            except CrosspostError as e:
                state, detail = "unreadable", str(e)
            else:
                if missing:
                    state = "missing"
                    detail = f"missing {', '.join(missing)}"
                else:
                    ends = login_end(p.name, target, platform)
        out.append(
            {
                "target": target,
                "platform": platform,
                "state": state,
                "detail": detail,
                "login_ends": iso(ends),
                "login_ends_local": _local(ends, p.tz) if ends else None,
            }
        )
    return out


def _problems(st: Status) -> list[str]:
    out = []
    for state in NEEDS_USER:
        n = st.targets.get(state, 0)
        if n:
            out.append(
                f"{n} target{'s' if n != 1 else ''} {state}: see 'crosspost list --state {state}'"
            )
    if st.oldest_due is not None and not st.running:
        post_id, target, at = st.oldest_due
        out.append(
            f"no daemon is running and deliveries are due (oldest: post {post_id} to {target}, "
            f"due {_ago(st.now - at)} ago): start 'crosspost daemon'"
        )
    for p in st.personas:
        for c in p["credentials"]:
            if c["state"] == "missing":
                out.append(
                    f"{p['name']}/{c['target']}: no credentials in the keyring ({c['detail']}): "
                    f"run {login_command(p['name'], c['target'])}"
                )
            elif c["state"] == "unreadable":
                out.append(f"{p['name']}/{c['target']}: {c['detail']}")
            elif c["login_ends"] is not None:
                ends = datetime.fromisoformat(c["login_ends"])
                if ends <= st.now + st.login_warning:
                    verb = "ended" if ends <= st.now else "ends"
                    out.append(
                        f"{p['name']}/{c['target']}: the login {verb} {c['login_ends_local']}: "
                        f"run {login_command(p['name'], c['target'])}"
                    )
    return out


def _ago(d: timedelta) -> str:
    from .durations import format_duration

    seconds = max(int(d.total_seconds()), 0)
    return format_duration(timedelta(seconds=seconds)) if seconds else "0s"


def to_json(st: Status) -> dict[str, Any]:
    """The shape documented in docs/cli.md (``crosspost status --format json``)."""
    lag = st.lag
    return {
        "ok": st.ok,
        "problems": st.problems,
        "now": iso(st.now),
        "daemon": {
            "running": bool(st.running),
            "instances": [
                {
                    "id": d.id,
                    "host": d.host,
                    "pid": d.pid,
                    "version": d.version,
                    "since": iso(d.started_at),
                    "last_beat": iso(d.beat_at),
                    "last_dispatch": iso(d.last_dispatch_at),
                    "running": d.running,
                    "stopped_because": d.gone,
                }
                for d in st.daemons
            ],
        },
        "personas": st.personas,
        "counts": {"posts": st.posts, "targets": st.targets},
        "failures_24h": st.failures,
        "queue_lag": {
            "seconds": None if lag is None else round(lag.total_seconds(), 3),
            "post_id": None if st.oldest_due is None else st.oldest_due[0],
            "target": None if st.oldest_due is None else st.oldest_due[1],
            "due_at": None if st.oldest_due is None else iso(st.oldest_due[2]),
        },
    }


def to_text(st: Status, tz: tzinfo) -> list[str]:
    """Lines for people; times in ``tz`` (per persona: the persona's zone)."""
    from .when import format_local

    lines = [("ok" if st.ok else "NEEDS ATTENTION") + f" (at {format_local(st.now, tz)})"]
    lines += [f"  ! {p}" for p in st.problems]
    lines.append("daemon:")
    if not st.daemons:
        lines.append("  not running")
    for d in st.daemons:
        since = format_local(d.started_at, tz)
        last = format_local(d.last_dispatch_at, tz) if d.last_dispatch_at else "none yet"
        state = "running" if d.running else f"NOT running ({d.gone})"
        lines.append(
            f"  {state}: pid {d.pid} on {d.host}, crosspost {d.version}, since {since}, "
            f"last dispatch {last}"
        )
    lag = st.lag
    if lag is None or st.oldest_due is None:
        lines.append("queue lag: none (nothing due is waiting)")
    else:
        lines.append(
            f"queue lag: {_ago(lag)} (post {st.oldest_due[0]} to {st.oldest_due[1]}, "
            f"due {format_local(st.oldest_due[2], tz)})"
        )
    lines.append(
        "targets: " + (", ".join(f"{k} {v}" for k, v in sorted(st.targets.items())) or "none")
    )
    lines.append("posts: " + (", ".join(f"{k} {v}" for k, v in sorted(st.posts.items())) or "none"))
    lines.append(f"failures in the last 24 h: {len(st.failures)}")
    for f in st.failures:
        lines.append(
            f"  post {f['post_id']} ({f['persona']}) to {f['target']}: {f['state']} at "
            f"{f['at_local']}: {f['error'] or 'no error recorded'}"
        )
    for p in st.personas:
        lines.append(f"persona {p['name']}:")
        n = p["next"]
        lines.append(
            f"  next: post {n['id']} {n['summary']!r} at {n['at_local']}" if n else "  next: none"
        )
        creds = ", ".join(f"{c['target']} {c['state']}" for c in p["credentials"])
        lines.append(f"  credentials: {creds or 'no targets'}")
    return lines


def display_zone(app: App) -> tzinfo:
    """config.toml's ``timezone``, else the one all personas share, else UTC."""
    if app.settings.timezone:
        return ZoneInfo(app.settings.timezone)
    zones = {p.timezone for p in app.personas}
    return ZoneInfo(zones.pop()) if len(zones) == 1 else UTC
