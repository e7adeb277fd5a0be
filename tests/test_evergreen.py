"""The evergreen pool: rotation, min_gap, alternative texts, the guard, the daemon's cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from crosspost.entries import parse_entry
from crosspost.errors import EntryError
from crosspost.models import Delivery, Post
from crosspost.store import Target

NOW = datetime.now(UTC)


def enable(ws, **settings: str) -> None:
    """Add an [evergreen] table to the professional persona."""
    path = ws.profiles / "professional.toml"
    lines = ["", "[evergreen]"] + [f"{k} = {v}" for k, v in settings.items()]
    path.write_text(path.read_text() + "\n".join(lines) + "\n")


def published_entry(
    ws, title: str, days_ago: float, texts: dict | None = None, *, marked: bool = True
) -> int:
    """A blog entry of the professional persona published ``days_ago``."""
    store = ws.app().store
    at = NOW - timedelta(days=days_ago)
    slug = title.lower().replace(" ", "-")
    post = store.enqueue(
        Post(
            persona="professional",
            kind="entry",
            title=title,
            body=f"About {title}.",
            slug=slug,
            scheduled_at=at,
            evergreen={"texts": texts or {}} if marked else None,
        ),
        [Target("blog", "static", "blog")],
    )
    with store.write() as s:
        d = s.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
        d.state, d.published_at = "published", at
        d.remote_url = f"https://harborpsych.example/posts/{slug}/"
        p = s.get(Post, post.id)
        p.status = "published"
        s.add_all([d, p])
    return post.id


def reshares(ws) -> list[Post]:
    with ws.app().store.read() as s:
        q = select(Post).where(Post.evergreen_of.is_not(None)).order_by(Post.id)
        return list(s.exec(q))


def texts_of(ws, post_id: int) -> dict[str, str]:
    post, ds = ws.app().store.get(post_id)
    assert {d.target for d in ds} == set(post.share)
    return post.share


def test_rotation_takes_the_longest_unshared_entry_first(ws):
    enable(ws, min_gap='"30d"')
    first = published_entry(ws, "Sleep habits", 100)
    second = published_entry(ws, "Screen time", 90)
    third = published_entry(ws, "Winter mood", 80)
    published_entry(ws, "Not marked", 120, marked=False)
    shown = ws.run("evergreen", "next", "--persona", "professional").out
    assert f'professional: post {first} "Sleep habits" at ' in shown
    assert "enabled = false" in shown and "  pro-x: New on the blog: Sleep habits https://" in shown
    order = []
    for _ in range(3):
        nxt = ws.run("evergreen", "next", "--persona", "professional", "--format", "json")
        (item,) = nxt.json()
        r = ws.run("evergreen", "run", "--persona", "professional", "--format", "json")
        assert r.code == 0, r.err
        assert r.json()["entry"]["id"] == item["entry"]["id"]
        order.append(item["entry"]["id"])
    assert order == [first, second, third]
    assert [p.evergreen_of for p in reshares(ws)] == order
    # every entry was shared within min_gap: none may go now
    r = ws.run("evergreen", "run", "--persona", "professional")
    assert r.code == 2 and "may be shared again before" in r.err
    assert len(reshares(ws)) == 3
    (item,) = ws.run("evergreen", "next", "--persona", "professional", "--format", "json").json()
    assert item["entry"] is None and item["pool"] == 3 and item["waiting_until"]


def test_min_gap_counts_from_the_publication(ws):
    enable(ws, min_gap='"60d"')
    published_entry(ws, "Fresh entry", 10)
    r = ws.run("evergreen", "run", "--persona", "professional")
    assert r.code == 2 and "min_gap 60d" in r.err
    assert reshares(ws) == []
    old = published_entry(ws, "Old entry", 61)
    r = ws.run("evergreen", "run", "--persona", "professional", "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["entry"]["id"] == old
    (post,) = reshares(ws)
    assert post.scheduled_at - NOW >= timedelta(0)
    assert post.scheduled_at >= NOW  # at the persona's next slot, not in the past


def test_alternative_texts_rotate_per_platform(ws):
    enable(ws, min_gap='"0s"')
    entry = published_entry(
        ws,
        "Sleep habits",
        100,
        {"mastodon": ["M1 {url}", "M2 {title} {url}"], "x": ["X1 {url}"]},
    )
    url = "https://harborpsych.example/posts/sleep-habits/"
    seen = []
    for _ in range(3):
        r = ws.run("evergreen", "run", "--persona", "professional", "--format", "json")
        assert r.code == 0, r.err
        seen.append(texts_of(ws, r.json()["id"]))
    assert seen == [
        {"pro-x": f"X1 {url}", "pro-mastodon": f"M1 {url}"},
        {"pro-x": f"X1 {url}", "pro-mastodon": f"M2 Sleep habits {url}"},
        {"pro-x": f"X1 {url}", "pro-mastodon": f"M1 {url}"},
    ]
    assert {p.evergreen_of for p in reshares(ws)} == {entry}
    shown = ws.run("show", str(reshares(ws)[0].id), "--format", "json").json()
    assert shown["evergreen_of"] == entry
    assert f"re-shares post {entry} (evergreen)" in ws.run("show", str(shown["id"])).out
    assert shown["kind"] == "short" and [t["target"] for t in shown["targets"]] == [
        "pro-x",
        "pro-mastodon",
    ]


def test_a_list_of_texts_serves_every_platform_and_the_template_the_rest(ws):
    enable(ws, min_gap='"0s"', to='["pro-mastodon"]')
    published_entry(ws, "Sleep habits", 100, {"*": ["Any {url}"]})
    r = ws.run("evergreen", "run", "--persona", "professional", "--format", "json")
    assert r.json()["texts"] == {
        "pro-mastodon": "Any https://harborpsych.example/posts/sleep-habits/"
    }
    published_entry(ws, "Screen time", 200)  # no texts: the persona's share template
    r = ws.run("evergreen", "run", "--persona", "professional", "--format", "json")
    assert r.json()["texts"] == {
        "pro-mastodon": "New on the blog: Screen time https://harborpsych.example/posts/screen-time/"
    }


def test_a_text_that_leaks_the_other_persona_is_blocked_not_queued(ws):
    enable(ws, min_gap='"0s"')
    published_entry(ws, "Weekend", 100, {"mastodon": ["Bee Hollow Apiary says hi {url}"]})
    r = ws.run("evergreen", "run", "--persona", "professional")
    assert r.code == 1, (r.out, r.err)
    assert "blocked" in r.err and "Traceback" not in r.err
    assert reshares(ws) == []
    audit = ws.run("audit", "--format", "json").json()["records"]
    assert audit[0]["kind"] == "blocked" and audit[0]["persona"] == "professional"
    assert "Bee Hollow" not in str(audit[0])


def test_the_daemon_queues_one_reshare_per_cadence(ws):
    from crosspost.evergreen import is_due, run_due

    enable(ws, enabled="true", every='"3d"', min_gap='"30d"')
    published_entry(ws, "Sleep habits", 100)
    published_entry(ws, "Screen time", 90)
    app = ws.app()
    persona = app.personas.get("professional")
    assert is_due(app, persona, NOW)
    assert len(run_due(app, NOW)) == 1
    assert not is_due(app, persona, NOW), "one re-share at a time"
    assert run_due(app, NOW) == []
    (post,) = reshares(ws)
    # once it is out, the next waits for `every`
    with app.store.write() as s:
        p = s.get(Post, post.id)
        p.status = "published"
        s.add(p)
    assert not is_due(app, persona, post.scheduled_at + timedelta(days=2))
    assert is_due(app, persona, post.scheduled_at + timedelta(days=3))
    personal = app.personas.get("personal")
    assert not is_due(app, personal, NOW), "not enabled"


def test_front_matter_evergreen_fields():
    e = parse_entry(
        '---\ntitle: T\nevergreen: true\nevergreen_texts: ["one {url}", two]\n---\nbody\n'
    )
    assert e.evergreen and e.evergreen_texts == {"*": ["one {url}", "two"]}
    e = parse_entry("---\ntitle: T\nevergreen_texts: {x: [a], mastodon: b}\n---\nbody\n")
    assert e.evergreen_texts == {"x": ["a"], "mastodon": ["b"]}
    assert ("evergreen_texts.x[0]", "a") in e.published_fields()
    with pytest.raises(EntryError, match="evergreen_texts"):
        parse_entry("---\ntitle: T\nevergreen_texts: 3\n---\nbody\n")
    with pytest.raises(EntryError, match="evergreen_texts"):
        parse_entry('---\ntitle: T\nevergreen_texts: ["{nope}"]\n---\nbody\n')


def test_queue_keeps_the_evergreen_marks_and_the_guard_checks_the_texts(ws):
    entry = ws.write(
        "e.md",
        '---\ntitle: Sleep\nevergreen: true\nevergreen_texts: {x: ["Again {url}"]}\n---\nBody.\n',
    )
    r = ws.run("queue", str(entry), "--persona", "professional", "--at", "+2h", "--format", "json")
    assert r.code == 0, r.err
    post, _ = ws.app().store.get(r.json()["id"])
    assert post.evergreen == {"texts": {"x": ["Again {url}"]}}
    leaky = ws.write(
        "l.md",
        '---\ntitle: Hives\nevergreen_texts: ["Tomasz Bee and me {url}"]\n---\nBody two.\n',
    )
    r = ws.run("queue", str(leaky), "--persona", "professional", "--at", "+3h")
    assert r.code == 1 and "identifies persona 'personal'" in r.err
    audit = ws.run("audit", "--format", "json").json()["records"]
    assert "evergreen_texts" in str(audit[0]["detail"])


@pytest.mark.postgres
def test_one_daemon_at_a_time_looks_at_a_personas_pool_on_postgresql():
    """Every daemon runs the evergreen job; on a shared PostgreSQL queue one of them takes
    a persona at a time, so two never queue the same re-share."""
    from crosspost.store import Store
    from tests.support.pgdb import new_database

    with new_database() as url:
        one, two = Store(url), Store(url)
        with one.only_one("evergreen:professional") as first:
            with two.only_one("evergreen:professional") as second:
                assert first and not second
            with two.only_one("evergreen:personal") as other:
                assert other
        with two.only_one("evergreen:professional") as later:
            assert later
        one.engine.dispose()
        two.engine.dispose()


def test_evergreen_run_and_the_daemons_job_never_queue_a_reshare_at_once(
    ws, ws_database, monkeypatch
):
    """``evergreen run`` by hand while a daemon's job queues the same persona's re-share
    would queue two (the same entry, at the same slot): one waits for the other, on SQLite
    as on PostgreSQL."""
    import threading

    from crosspost import cli_evergreen
    from crosspost.evergreen import run_due

    enable(ws, enabled="true", every='"3d"', min_gap='"30d"')
    published_entry(ws, "Sleep habits", 100)
    published_entry(ws, "Screen time", 90)
    daemon = ws.app().store  # another process's connection: its own lock
    monkeypatch.setattr(cli_evergreen, "RUN_WAIT", 0.3)
    with daemon.only_one("evergreen:professional") as busy:
        assert busy
        r = ws.run("evergreen", "run", "--persona", "professional")
        assert r.code == 2, r.err
        assert "still queueing its re-share" in r.err and "nothing was queued" in r.err
        assert reshares(ws) == []
    # the command waits for a job that ends within its wait
    monkeypatch.setattr(cli_evergreen, "RUN_WAIT", 60.0)
    holding, release = threading.Event(), threading.Event()

    def job() -> None:
        with daemon.only_one("evergreen:professional"):
            holding.set()
            release.wait(10)

    t = threading.Thread(target=job)
    t.start()
    assert holding.wait(10)
    threading.Timer(0.3, release.set).start()
    r = ws.run("evergreen", "run", "--persona", "professional")
    t.join()
    assert r.code == 0, r.err
    assert len(reshares(ws)) == 1
    # and the daemon's job passes a persona whose re-share a command is queueing
    with daemon.write() as s:
        (post,) = reshares(ws)
        post.status = "published"
        s.add(post)
    app, later = ws.app(), NOW + timedelta(days=4)
    with daemon.only_one("evergreen:professional"):
        assert run_due(app, later) == []
    assert len(run_due(app, later)) == 1
    daemon.engine.dispose()
    app.store.engine.dispose()


def test_an_entry_the_guard_blocks_does_not_stop_the_daemons_rotation(ws):
    """The oldest entry's text leaks the other persona: the daemon skips it (audited) and
    re-shares the next one, instead of trying the blocked one alone every few minutes."""
    from crosspost.evergreen import run_due

    enable(ws, enabled="true", every='"3d"', min_gap='"30d"')
    published_entry(ws, "Weekend", 100, {"mastodon": ["Bee Hollow Apiary says hi {url}"]})
    clean = published_entry(ws, "Sleep habits", 90)
    app = ws.app()
    assert len(run_due(app, NOW)) == 1
    (post,) = reshares(ws)
    assert post.evergreen_of == clean
    audit = ws.run("audit", "--format", "json").json()["records"]
    assert [r["kind"] for r in audit] == ["blocked"]


@pytest.mark.parametrize(
    ("to", "said"),
    [
        ('["home-bsky"]', "evergreen.to: 'home-bsky' is not an account of persona 'professional'"),
        ("[]", "evergreen.to is empty"),
    ],
)
def test_evergreen_to_naming_no_account_of_the_persona_is_refused_on_load(ws, to, said):
    """Like a feed's accounts: refused when the profile loads, not every ten minutes in the
    daemon's log."""
    enable(ws, enabled="true", to=to)
    r = ws.run("personas")
    assert r.code == 2 and "Traceback" not in r.err
    assert said in r.err and "professional.toml" in r.err


def test_an_evergreen_cadence_under_an_hour_is_refused_on_load(ws):
    enable(ws, enabled="true", every='"0s"')
    r = ws.run("personas")
    assert r.code == 2 and "Traceback" not in r.err
    assert "every must be at least 1h" in r.err and "professional.toml" in r.err
