"""The exposure audit from the browser: the same library call as ``crosspost audit-exposure``,
against the same fake platforms, and a page that shows where and why, never the text."""

from __future__ import annotations

import re
from html import unescape

from tests.test_audit_exposure import (  # noqa: F401 - servers is the fixture the tests use
    BSKY_PASSWORD,
    HOME_TOKEN,
    PRO_TOKEN,
    Servers,
    servers,
)
from tests.web.conftest import web_over

BIO = "Beekeeper. Weekdays I am Ana Reyes, psychologist."
#: one of the professional persona's own never-mention terms, which no page shows
NEVER = "Alberta Arts District"


def _rows(page: str, severity: str) -> list[str]:
    return re.findall(rf'<tr class="severity-{severity}">(.*?)</tr>', page, re.S)


def test_a_bio_naming_the_other_persona_is_a_block_with_its_link(ws, servers: Servers) -> None:  # noqa: F811
    servers.home.account.note = BIO
    servers.pro.add_status(f"A quiet walk through the {NEVER} after the last session.")
    web = web_over(ws)
    with web.client:
        web.login()
        assert 'href="/audit-exposure"' in web.client.get("/personas").text
        page = web.client.get("/audit-exposure").text
        assert "Run the exposure audit" in page and "Not run since" in page

        # without the session's CSRF token: refused, nothing read
        r = web.client.post("/audit-exposure", data={"limit": "50"}, follow_redirects=False)
        assert r.status_code == 403
        assert sum(servers.home.calls.values()) == 0, "no account was read"
        assert "Not run since" in web.client.get("/audit-exposure").text

        csrf = web.csrf()
        r = web.client.post(
            "/audit-exposure", data={"csrf": csrf, "limit": "50"}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == "/audit-exposure"
        page = web.client.get("/audit-exposure").text
        text = unescape(page)
        assert "Last run: " in page
        assert "exposed: 6 posts and 3 profiles checked" in text
        [block] = [r for r in _rows(page, "block") if "home-mastodon" in r]
        cells = [unescape(c) for c in re.findall(r"<td>(.*?)</td>", block, re.S)]
        assert "personal" in cells[0]
        assert cells[1] == "home-mastodon (mastodon)"
        assert cells[2] == "profile: bio"
        assert cells[3].startswith("identity")
        assert cells[4] == "block"
        assert cells[5] == "identifies persona 'professional' (the term is not shown)"
        link = f"{servers.home.url}/@anabee"
        assert f'<a href="{link}" rel="noopener noreferrer" target="_blank">' in block
        assert _rows(page, "warn") == []

        # where and why, never what matched (the page may be on a shared screen) or a secret
        [term] = [r for r in _rows(page, "block") if "pro-mastodon" in r]
        assert "one of persona 'professional''s never_mention terms (not shown)" in unescape(term)
        for never in ("Ana Reyes", "Weekdays", NEVER, PRO_TOKEN, HOME_TOKEN, BSKY_PASSWORD):
            assert never not in text, never

        # a reload shows the same run; nothing is read again
        read = sum(servers.home.calls.values())
        assert read > 0
        again = web.client.get("/audit-exposure").text
        assert sum(servers.home.calls.values()) == read
        assert re.search(r"Last run: (.*?)</h2>", again).group(1) == re.search(
            r"Last run: (.*?)</h2>", page
        ).group(1)


def test_notes_name_the_login_and_bad_input_keeps_the_last_run(
    ws,
    servers: Servers,  # noqa: F811
    isolated,
) -> None:
    isolated.delete_password("crosspost/personal/home-mastodon", "access_token")
    web = web_over(ws)
    with web.client:
        web.login()
        csrf = web.csrf()
        web.client.post("/audit-exposure", data={"csrf": csrf, "persona": "personal"})
        page = web.client.get("/audit-exposure").text
        text = unescape(page)
        assert "clean: 2 posts and 1 profiles checked" in text, "the personal persona only"
        assert "(persona personal)" in text
        assert '<option value="personal" selected>' in page
        assert "run 'crosspost accounts login home-mastodon'" in text
        assert "profile not read: same reason" in text
        assert "professional/" not in text

        r = web.client.post(
            "/audit-exposure", data={"csrf": csrf, "persona": "personal", "limit": "0"}
        )
        assert "limit '0' is not a whole number from 1 to 10000" in unescape(r.text)
        assert "clean: 2 posts and 1 profiles checked" in unescape(r.text), "the last run stays"
        r = web.client.post("/audit-exposure", data={"csrf": csrf, "persona": "nobody"})
        assert "unknown persona 'nobody'" in unescape(r.text)


def test_only_web_addresses_become_links() -> None:
    from datetime import UTC, datetime

    from crosspost.exposure import Audit, Exposure
    from crosspost.web.exposure import LastRun, page_data

    def finding(url: str | None) -> Exposure:
        return Exposure(
            "personal", "home-x", "x", "post", url, "body", None, "confidential", "warn", "m"
        )

    urls = ["javascript:alert(1)", "https://example.org/p/1", None, "at://did:plc:x/post/1"]
    last = LastRun(datetime.now(UTC), None, 200, Audit([], [finding(u) for u in urls]))
    rows = page_data(last, {}, UTC)["findings"]
    assert [r["link"] for r in rows] == [None, "https://example.org/p/1", None, None]
    assert [r["url"] for r in rows] == urls, "shown as text, not as a link"
