"""The Bluesky adapter against a real PDS (the reference server from @atproto/dev-env).

Opt-in, because it needs Node 20 and ~360 MB of node_modules:

    CROSSPOST_TEST_BLUESKY_PDS=1 pytest tests/platforms/test_bluesky_real.py
        starts scripts/bluesky-pds (``npm ci`` first if node_modules is missing) for the session
    CROSSPOST_TEST_BLUESKY_URL=http://127.0.0.1:PORT pytest tests/platforms/test_bluesky_real.py
        uses one already running (``scripts/bluesky-pds/start DIR PORT``)

Each session creates fresh accounts (NAME.test, no invite needed) and an app password for them;
only loopback servers are accepted.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from crosspost import credentials
from crosspost.errors import PermanentError
from crosspost.platforms.base import AdapterContext, MediaItem, Publication
from crosspost.platforms.bluesky import BlueskyAdapter, record_key
from crosspost.profiles import Persona, make_account
from tests.support.publications import make_publication

START_PDS = os.environ.get("CROSSPOST_TEST_BLUESKY_PDS") == "1"
PDS_URL = os.environ.get("CROSSPOST_TEST_BLUESKY_URL")
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "bluesky-pds"

pytestmark = pytest.mark.skipif(
    not (START_PDS or PDS_URL),
    reason="real-PDS tests are opt-in: set CROSSPOST_TEST_BLUESKY_PDS=1 to start "
    "scripts/bluesky-pds (Node 20 + npm), or CROSSPOST_TEST_BLUESKY_URL=http://127.0.0.1:PORT "
    "for one already running",
)


@dataclass
class RealAccount:
    url: str
    handle: str
    did: str
    app_password: str


def _free_base_port() -> int:
    """A port P with P, P+1, P+2 free (PDS, PLC, AppView stand-in)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + 2 > 65535:
            continue
        try:
            for port in (base, base + 1, base + 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no three consecutive free ports")


@pytest.fixture(scope="session")
def pds_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PDS_URL:
        host = urlsplit(PDS_URL).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            pytest.fail(f"refusing to create test accounts on {host}: use a local PDS")
        yield PDS_URL.rstrip("/")
        return
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("CROSSPOST_TEST_BLUESKY_PDS=1 needs node and npm on PATH (Node 20)")
    run_dir = tmp_path_factory.mktemp("bluesky-pds")
    port = _free_base_port()
    started = time.monotonic()
    proc = subprocess.run(
        [str(SCRIPTS / "start"), str(run_dir), str(port)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"scripts/bluesky-pds/start failed:\n{proc.stdout}\n{proc.stderr}")
    ready = json.loads((run_dir / "ready.json").read_text())
    print(f"\nlocal PDS ready at {ready['pds']} in {time.monotonic() - started:.1f} s")
    try:
        yield ready["pds"]
    finally:
        subprocess.run([str(SCRIPTS / "stop"), str(run_dir)], timeout=60, check=False)


def _create_account(url: str, name: str) -> RealAccount:
    handle = f"{name}{secrets.token_hex(3)}.test"
    password = secrets.token_urlsafe(12)
    r = httpx.post(
        f"{url}/xrpc/com.atproto.server.createAccount",
        json={"handle": handle, "email": f"{handle}@crosspost.invalid", "password": password},
        timeout=30,
    )
    r.raise_for_status()
    created = r.json()
    r = httpx.post(
        f"{url}/xrpc/com.atproto.server.createAppPassword",
        json={"name": "crosspost"},
        headers={"Authorization": f"Bearer {created['accessJwt']}"},
        timeout=30,
    )
    r.raise_for_status()
    return RealAccount(url, handle, created["did"], r.json()["password"])


@pytest.fixture(scope="session")
def account(pds_url: str) -> RealAccount:
    return _create_account(pds_url, "anabee")


@pytest.fixture(scope="session")
def friend(pds_url: str) -> RealAccount:
    return _create_account(pds_url, "friend")


def _ctx(acct: RealAccount) -> AdapterContext:
    account = make_account(
        name="home-bsky", platform="bluesky", handle=acct.handle, instance=acct.url
    )
    persona = Persona(name="personal", display_name="Ana Bee", accounts=[account])
    return AdapterContext(persona=persona, account=account)


@pytest.fixture
def adapter(account: RealAccount) -> BlueskyAdapter:
    credentials.store("personal", "home-bsky", {"app_password": account.app_password})
    return BlueskyAdapter(_ctx(account))


def _pub(text: str, key: str, **kw) -> Publication:  # type: ignore[no-untyped-def]
    defaults = dict(
        post_id=1,
        persona="personal",
        target="home-bsky",
        platform="bluesky",
        idempotency_key=key,
        kind="entry",
        title="Spring hive check",
        body="The bees made it through the winter.",
        summary="The bees made it through the winter.",
        tags=("bees",),
        categories=(),
        slug="hives",
        lang="en",
        scheduled_at=datetime.now(UTC).replace(microsecond=0),
        text=text,
        canonical_url="https://anabee.example/posts/hives/",
    )
    return make_publication(**{**defaults, **kw})


def _get_record(acct: RealAccount, rkey: str) -> httpx.Response:
    return httpx.get(
        f"{acct.url}/xrpc/com.atproto.repo.getRecord",
        params={"repo": acct.did, "collection": "app.bsky.feed.post", "rkey": rkey},
        timeout=30,
    )


def _posts(acct: RealAccount) -> list[dict]:
    r = httpx.get(
        f"{acct.url}/xrpc/com.atproto.repo.listRecords",
        params={"repo": acct.did, "collection": "app.bsky.feed.post", "limit": 100},
        timeout=30,
    )
    r.raise_for_status()
    return r.json()["records"]


def _thumb(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "hive.png"
    Image.new("RGB", (120, 63), (240, 180, 20)).save(path, "PNG")
    return path


def test_publish_with_facets_and_link_card(
    adapter: BlueskyAdapter,
    account: RealAccount,
    friend: RealAccount,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created: list = []
    original = BlueskyAdapter._create_record

    def spy(self, client, rkey, record):  # type: ignore[no-untyped-def]
        response = original(self, client, rkey, record)
        created.append((record, response))
        return response

    monkeypatch.setattr(BlueskyAdapter, "_create_record", spy)
    text = f"Café ✨ new post: https://anabee.example/posts/hives/ #bees with @{friend.handle}"
    pub = _pub(text, "real-1", media=(MediaItem(_thumb(tmp_path), alt="a hive"),))
    result = adapter.publish(pub)

    rkey = record_key("real-1", pub.scheduled_at)
    assert result.remote_id == f"at://{account.did}/app.bsky.feed.post/{rkey}"
    assert result.url == f"https://bsky.app/profile/{account.did}/post/{rkey}"

    [(sent, response)] = created
    r = _get_record(account, rkey)
    r.raise_for_status()
    stored = r.json()
    assert stored["cid"] == response.cid
    value = stored["value"]
    assert value["text"] == text
    facets = [
        (f["index"]["byteStart"], f["index"]["byteEnd"], f["features"][0]) for f in value["facets"]
    ]
    raw = text.encode()
    link_start = 20
    link_end = link_start + len("https://anabee.example/posts/hives/")
    assert facets[0][:2] == (link_start, link_end)
    assert facets[0][2]["uri"] == "https://anabee.example/posts/hives/"
    assert raw[facets[1][0] : facets[1][1]] == b"#bees" and facets[1][2]["tag"] == "bees"
    assert raw[facets[2][0] : facets[2][1]].decode() == f"@{friend.handle}"
    assert facets[2][2]["did"] == friend.did
    assert [(s, e) for s, e, _ in facets] == [
        (f["index"]["byteStart"], f["index"]["byteEnd"]) for f in sent["facets"]
    ]
    external = value["embed"]["external"]
    assert value["embed"]["$type"] == "app.bsky.embed.external"
    assert (external["uri"], external["title"], external["description"]) == (
        "https://anabee.example/posts/hives/",
        "Spring hive check",
        "The bees made it through the winter.",
    )
    assert external["thumb"]["mimeType"] == "image/png"
    assert value["langs"] == ["en"]


def test_retry_with_the_same_key_keeps_one_post(
    adapter: BlueskyAdapter, account: RealAccount
) -> None:
    pub = _pub("Retried share https://anabee.example/posts/retry/", "real-retry")
    first = adapter.publish(pub)
    rkey = record_key("real-retry", pub.scheduled_at)

    # what the server itself answers to a second createRecord under the same key
    session = httpx.post(
        f"{account.url}/xrpc/com.atproto.server.createSession",
        json={"identifier": account.handle, "password": account.app_password},
        timeout=30,
    ).json()
    raw = httpx.post(
        f"{account.url}/xrpc/com.atproto.repo.createRecord",
        json={
            "repo": account.did,
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": {
                "$type": "app.bsky.feed.post",
                "text": pub.text,
                "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            },
        },
        headers={"Authorization": f"Bearer {session['accessJwt']}"},
        timeout=30,
    )
    assert raw.status_code == 500
    assert raw.json()["error"] == "InternalServerError"

    second = BlueskyAdapter(_ctx(account)).publish(pub)  # the adapter's retry
    assert second == first
    same = [p for p in _posts(account) if p["uri"].endswith(f"/{rkey}")]
    assert len(same) == 1
    assert sum(p["value"]["text"] == pub.text for p in _posts(account)) == 1


def test_lookup(adapter: BlueskyAdapter) -> None:
    pub = _pub("Looked-up share https://anabee.example/posts/lookup/", "real-lookup")
    assert adapter.lookup(pub) is None
    published = adapter.publish(pub)
    assert BlueskyAdapter(adapter.ctx).lookup(pub) == published


def test_verify(adapter: BlueskyAdapter, account: RealAccount) -> None:
    assert adapter.verify() == f"Bluesky account @{account.handle} ({account.did})"


def test_session_is_reused(adapter: BlueskyAdapter, account: RealAccount) -> None:
    adapter.verify()
    # a wrong app password no longer matters: the stored session is used
    credentials.set_secret("crosspost/personal/home-bsky", "app_password", "wrong-wrong-wrong")
    assert account.did in BlueskyAdapter(_ctx(account)).verify()


def test_images_post(adapter: BlueskyAdapter, account: RealAccount, tmp_path: Path) -> None:
    pub = _pub(
        "Two frames 🐝",
        "real-images",
        canonical_url=None,
        kind="short",
        media=(MediaItem(_thumb(tmp_path), alt="frame one"), MediaItem(_thumb(tmp_path), alt="")),
    )
    result = adapter.publish(pub)
    value = _get_record(account, result.remote_id.rpartition("/")[2]).json()["value"]
    assert value["embed"]["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in value["embed"]["images"]] == ["frame one", ""]


def test_text_too_long_is_permanent(adapter: BlueskyAdapter) -> None:
    with pytest.raises(PermanentError, match=r"grapheme too big \(maximum 300, got 301\)"):
        adapter.publish(_pub("🐝" * 301, "real-too-long", canonical_url=None))


def test_sdk_login_gets_a_profile_from_the_stand_in(account: RealAccount) -> None:
    from atproto import Client

    profile = Client(account.url).login(account.handle, account.app_password)
    assert profile is not None and profile.did == account.did


def test_audit_exposure_reads_back_what_was_published(ws, account: RealAccount) -> None:  # type: ignore[no-untyped-def]
    """A post naming the other persona, published on the real PDS, is found by
    ``crosspost audit-exposure`` with its link (read from the repository, no AppView)."""
    personal = ws.profiles / "personal.toml"
    personal.write_text(
        personal.read_text().replace(
            'name = "home-bsky"\nplatform = "bluesky"\nhandle = "anabee.bsky.social"\n',
            f'name = "home-bsky"\nplatform = "bluesky"\nhandle = "{account.handle}"\n'
            f'instance = "{account.url}"\n',
        )
    )
    credentials.store("personal", "home-bsky", {"app_password": account.app_password})
    key = f"real-audit-{secrets.token_hex(4)}"
    text = f"Proud of my wife Ana Reyes and her new practice {key}"
    published = BlueskyAdapter(_ctx(account)).publish(_pub(text, key, canonical_url=None))

    r = ws.run("audit-exposure", "--persona", "personal", "--format", "json")
    assert r.code == 1, r.out + r.err
    data = r.json()
    [target] = [t for t in data["targets"] if t["target"] == "home-bsky"]
    assert target["notes"] == [] and target["items"] >= 1 and target["profile"] is True
    found = [f for f in data["findings"] if f["url"] == published.url]
    assert found and found[0]["owner"] == "professional" and found[0]["severity"] == "block"
