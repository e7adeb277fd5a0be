"""`crosspost list`: what is coming first, history on request, filters done in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crosspost.models import Delivery, Post
from crosspost.store import Store, rollup

CHI = ZoneInfo("America/Chicago")
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def add(store: Store, persona: str, at: datetime, *states: str, body: str = "") -> int:
    """A post with one feed/static target per state, its status rolled up from them."""
    with store.write() as s:
        post = Post(
            persona=persona,
            kind="short",
            body=body or f"post at {at}",
            slug="p",
            scheduled_at=at,
            status=rollup(list(states)),
        )
        s.add(post)
        s.flush()
        for i, state in enumerate(states):
            s.add(
                Delivery(
                    post_id=post.id,
                    target=f"t{i}",
                    platform="feed",
                    role="share",
                    state=state,
                    due_at=at,
                    idempotency_key=f"{post.id}-{i}",
                )
            )
        assert post.id is not None
        return post.id


@pytest.fixture
def posts(ws):
    """A queue with something in every state; times relative to now."""
    store = ws.app().store
    h = timedelta(hours=1)
    ids = {
        "queued_later": add(store, "professional", NOW + 30 * h, "queued"),
        "queued_soon": add(store, "personal", NOW + 2 * h, "queued"),
        "held": add(store, "personal", NOW - 20 * h, "held"),
        "unknown": add(store, "professional", NOW - 3 * h, "unknown", "published"),
        "failed": add(store, "professional", NOW - 50 * h, "failed"),
        "partial_failed": add(store, "personal", NOW - 40 * h, "published", "failed"),
        "partial_done": add(store, "personal", NOW - 30 * h, "published", "cancelled"),
        "published_old": add(store, "professional", NOW - 200 * h, "published"),
        "published_new": add(store, "personal", NOW - 5 * h, "published"),
        "cancelled": add(store, "professional", NOW - 10 * h, "cancelled"),
        "far_future": add(store, "professional", NOW + 24 * 10 * h, "queued"),
    }
    return ids


def listed(ws, *args: str) -> list[int]:
    r = ws.run("list", *args, "--format", "json")
    assert r.code == 0, r.err
    return [p["id"] for p in r.json()["posts"]]


def test_default_is_upcoming_and_open_problems_soonest_first(ws, posts):
    order = [
        "failed",
        "partial_failed",
        "held",
        "unknown",
        "queued_soon",
        "queued_later",
        "far_future",
    ]
    assert listed(ws) == [posts[k] for k in order]
    data = ws.run("list", "--format", "json").json()
    assert data["total"] == len(order)
    assert data["view"] == "upcoming"


def test_history_is_finished_posts_newest_first(ws, posts):
    order = [
        "published_new",
        "cancelled",
        "partial_done",
        "partial_failed",
        "failed",
        "published_old",
    ]
    assert listed(ws, "--history") == [posts[k] for k in order]


def test_all_is_every_post_oldest_first(ws, posts):
    got = listed(ws, "--all", "--limit", "100")
    assert sorted(got) == sorted(posts.values())
    assert got[0] == posts["published_old"] and got[-1] == posts["far_future"]


@pytest.mark.parametrize("option", ["--state", "--status", "-s"])
def test_state_filter_and_its_alias(ws, posts, option):
    assert listed(ws, option, "held") == [posts["held"]]


def test_several_states_comma_separated_or_repeated(ws, posts):
    expected = [posts["held"], posts["queued_soon"], posts["queued_later"], posts["far_future"]]
    assert listed(ws, "--state", "queued,held") == expected
    assert listed(ws, "--state", "queued", "--state", "held") == expected


def test_finished_states_list_newest_first(ws, posts):
    assert listed(ws, "--state", "published") == [posts["published_new"], posts["published_old"]]


def test_unknown_state_suggests_one(ws, posts):
    r = ws.run("list", "--state", "publised")
    assert r.code == 2
    assert "unknown state 'publised'" in r.err and "did you mean 'published'" in r.err


def test_persona_filter(ws, posts):
    assert listed(ws, "--persona", "personal") == [
        posts["partial_failed"],
        posts["held"],
        posts["queued_soon"],
    ]
    r = ws.run("list", "--persona", "nobody")
    assert r.code == 2 and "unknown persona 'nobody'" in r.err


def test_week_is_the_next_seven_days(ws, posts):
    assert listed(ws, "--week") == [posts["queued_soon"], posts["queued_later"]]


def test_history_week_is_the_last_seven_days(ws, posts):
    assert listed(ws, "--history", "--week") == [
        posts["published_new"],
        posts["cancelled"],
        posts["partial_done"],
        posts["partial_failed"],
        posts["failed"],
    ]


def test_from_and_to_in_the_personas_timezone(ws):
    store = ws.app().store
    # 2099-03-02 is a Monday; 23:30 Chicago is already the next day in UTC
    late = add(store, "professional", datetime(2099, 3, 2, 23, 30, tzinfo=CHI), "queued")
    next_day = add(store, "professional", datetime(2099, 3, 3, 0, 30, tzinfo=CHI), "queued")
    nine = add(store, "professional", datetime(2099, 3, 2, 9, 0, tzinfo=CHI), "queued")
    assert listed(ws, "--from", "2099-03-02", "--to", "2099-03-02") == [nine, late]
    assert listed(ws, "--from", "2099-03-02 09:00", "--to", "2099-03-02 09:00") == [nine]
    assert listed(ws, "--from", "2099-03-02 09:01") == [late, next_day]
    assert listed(ws, "--to", "2099-03-02 23:29") == [nine]
    assert listed(ws, "--from", "2099-03-03T05:00:00Z") == [late, next_day]
    data = ws.run("list", "--from", "2099-03-02", "--format", "json").json()
    assert data["from"] == "2099-03-02T06:00:00Z" and data["to"] is None


def test_from_back_in_time_for_history(ws, posts):
    assert listed(ws, "--history", "--from", "-6h") == [posts["published_new"]]
    assert listed(ws, "--history", "--from=-11h", "--to", "-4h") == [
        posts["published_new"],
        posts["cancelled"],
    ]


def test_from_uses_the_configured_timezone_when_personas_differ(ws):
    path = ws.profiles / "personal.toml"
    path.write_text(
        path.read_text().replace('timezone = "America/Chicago"', 'timezone = "Europe/Berlin"')
    )
    store = ws.app().store
    nine = add(store, "professional", datetime(2099, 3, 2, 9, 0, tzinfo=CHI), "queued")
    r = ws.run("list", "--from", "2099-03-02 09:00")
    assert r.code == 2
    assert "personas differ" in r.err and "timezone" in r.err
    # a time with an offset, or a relative one, needs no timezone
    assert listed(ws, "--from", "2099-03-02T09:00-06:00") == [nine]
    assert listed(ws, "--from", "-1h", "--to", "+10d") == []
    # with the persona, its own timezone
    assert listed(ws, "--persona", "professional", "--from", "2099-03-02 09:00") == [nine]
    assert listed(ws, "--persona", "personal", "--from", "2099-03-02 09:00") == []
    # or the one set in config.toml
    ws.write(
        "config.toml",
        'profiles_dir = "profiles"\ndata_dir = "data"\ntimezone = "America/Chicago"\n',
    )
    assert listed(ws, "--from", "2099-03-02 09:00") == [nine]
    ws.write(
        "config.toml", 'profiles_dir = "profiles"\ndata_dir = "data"\ntimezone = "Europe/Berlin"\n'
    )
    assert listed(ws, "--from", "2099-03-02 09:00") == [nine]
    assert listed(ws, "--from", "2099-03-02 16:01") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "--from", "+1h"], "--week or --from/--to"),
        (["--history", "--all"], "--history or --all"),
        (["--from", "+2d", "--to", "+1d"], "--to is before --from"),
        (["--from", "next year"], "--from 'next year' is not a time"),
        (["--to", "2099-02-30"], "--to '2099-02-30'"),
    ],
)
def test_bad_options(ws, args, message):
    r = ws.run("list", *args)
    assert r.code == 2
    assert message in r.err
    assert "Traceback" not in r.err


def test_json_keeps_its_keys_and_adds_the_view(ws, posts):
    data = ws.run("list", "--limit", "2", "--format", "json").json()
    assert {"total", "page", "limit", "posts", "view", "states", "from", "to"} <= set(data)
    assert data["limit"] == 2 and len(data["posts"]) == 2 and data["page"] == 1
    post = data["posts"][0]
    assert {
        "id",
        "persona",
        "kind",
        "title",
        "excerpt",
        "status",
        "scheduled_at",
        "scheduled_local",
        "targets",
        "note",
    } <= set(post)
    assert post["scheduled_at"].endswith("Z")
    second = ws.run("list", "--limit", "2", "--page", "2", "--format", "json").json()
    assert second["posts"][0]["id"] == posts["held"]


def test_text_output_names_the_view_and_the_way_to_history(ws):
    r = ws.run("list")
    assert r.code == 0 and "nothing upcoming" in r.out and "--history" in r.out
    add(ws.app().store, "personal", NOW + timedelta(hours=3), "queued", body="Hive check")
    r = ws.run("list")
    assert "upcoming" in r.out and "Hive check" in r.out


def _plan(store: Store, **kw: object) -> str:
    """SQLite's plan for the page query list_posts runs."""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM post" in statement and "count(" not in statement and "LIMIT" in statement:
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        store.list_posts(**kw)  # type: ignore[arg-type]
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)
    assert seen, "no page query seen"
    statement, params = seen[-1]
    raw = store.engine.raw_connection()
    try:
        rows = raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
    finally:
        raw.close()
    return " | ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    "kw",
    [
        {"upcoming": True},
        {"states": ["published", "cancelled", "failed", "partial"], "newest_first": True},
        {"persona": "p1", "upcoming": True},
        {"start": NOW, "end": NOW + timedelta(days=7), "upcoming": True},
    ],
)
def test_list_queries_use_indexes(tmp_path, kw):
    """No full scan of the post table: a long history must not slow down `list`."""
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    for i in range(30):
        add(store, f"p{i % 2}", NOW + timedelta(minutes=i), "queued" if i % 3 else "published")
    plan = _plan(store, **kw)
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert not any(step.strip() == "SCAN post" for step in plan.split("|")), plan


def test_configured_timezone_is_checked(ws):
    ws.write(
        "config.toml", 'profiles_dir = "profiles"\ndata_dir = "data"\ntimezone = "Mars/Olympus"\n'
    )
    r = ws.run("list")
    assert r.code == 2
    assert f"{ws.config}: timezone: unknown timezone 'Mars/Olympus'" in r.err


def _expected(rows, persona, states, upcoming, start, end, newest_first):  # type: ignore[no-untyped-def]
    from crosspost.store import UPCOMING

    out = []
    for post_id, p_persona, at, status, delivery_states in rows:
        if persona and p_persona != persona:
            continue
        if states and status not in states:
            continue
        if upcoming and not (
            status in UPCOMING or (status == "partial" and "failed" in delivery_states)
        ):
            continue
        if (start is not None and at < start) or (end is not None and at >= end):
            continue
        out.append((at, post_id))
    out.sort(reverse=newest_first)
    return [post_id for _, post_id in out]


@pytest.mark.parametrize("mix", ["mostly-finished", "mostly-queued"])
def test_every_filter_combination_matches_a_plain_filter(tmp_path, mix):
    """Whichever way the page query is planned (time index or status index), the posts and
    their order are the same as filtering in Python."""
    import random

    rng = random.Random(7)
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    choices = {
        "mostly-finished": [("published",)] * 6
        + [
            ("cancelled",),
            ("failed",),
            ("queued",),
            ("published", "failed"),
            ("published", "cancelled"),
            ("held",),
        ],
        "mostly-queued": [("queued",)] * 6
        + [("published",), ("unknown",), ("published", "failed"), ("publishing",)],
    }[mix]
    rows = []
    for _ in range(120):
        states = rng.choice(choices)
        at = NOW + timedelta(hours=rng.randint(-400, 400))
        persona = rng.choice(["a", "b", "c"])
        rows.append((add(store, persona, at, *states), persona, at, rollup(list(states)), states))
    windows = [
        (None, None),
        (NOW - timedelta(days=3), NOW + timedelta(days=3)),
        (NOW, None),
        (None, NOW - timedelta(days=10)),
    ]
    filters = [
        (None, False),
        (["published"], False),
        (["queued", "held"], False),
        (None, True),
        (["failed", "partial"], False),
    ]
    for persona in (None, "a"):
        for states, upcoming in filters:
            for start, end in windows:
                for newest_first in (False, True):
                    got: list[int] = []
                    for page in range(20):
                        page_rows, total = store.list_posts(
                            persona=persona,
                            states=states,
                            upcoming=upcoming,
                            start=start,
                            end=end,
                            newest_first=newest_first,
                            limit=7,
                            offset=page * 7,
                        )
                        got += [p.id for p, _ in page_rows]
                        if not page_rows:
                            break
                    expected = _expected(rows, persona, states, upcoming, start, end, newest_first)
                    assert got == expected, (persona, states, upcoming, start, end)
                    assert total == len(expected)


@pytest.mark.parametrize("mix", ["mostly-queued", "mostly-published"])
def test_default_list_reads_each_state_through_the_status_time_index(tmp_path, mix):
    """The default view's page is read through (status, scheduled_at), one state at a time
    and at most a page of rows each: no walk over the posts of other states, whatever the
    queue holds, so `list` does not slow down as the queue or the history grows."""
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    common = "queued" if mix == "mostly-queued" else "published"
    for i in range(40):
        add(store, f"p{i % 2}", NOW + timedelta(minutes=i), common if i % 5 else "held")
    plan = _plan(store, upcoming=True, limit=5)
    steps = [step.strip() for step in plan.split("|")]
    by_state = [s for s in steps if s.startswith("SEARCH post") and "ix_post_status_scheduled" in s]
    assert len(by_state) == 6, plan  # the five upcoming states and partial
    assert not any(step.startswith("SCAN post") for step in steps), plan
    rows, total = store.list_posts(upcoming=True, limit=5)
    assert total == (40 if mix == "mostly-queued" else 8)
    assert [p.scheduled_at for p, _ in rows] == sorted(p.scheduled_at for p, _ in rows)
