"""Only the person who started ``crosspost serve`` can use it, in as many tabs as they like."""

from __future__ import annotations

import re

import pytest

from crosspost.web.security import CSP


def test_a_browser_without_the_session_gets_the_page_that_says_what_to_open(web):
    for path in ("/", "/calendar", "/compose", "/personas", "/audit", "/posts/1"):
        r = web.client.get(path, follow_redirects=False)
        assert r.status_code == 403, path
        assert "Open the link crosspost printed" in r.text
        assert r.headers["content-security-policy"] == CSP


def test_the_token_opens_a_session_once_and_leaves_the_url(web):
    r = web.client.get(f"/calendar?token={web.token}&view=month", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/calendar?view=month"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert web.client.get("/calendar").status_code == 200
    # every tab of that browser shares the session, and the link opened again just works
    assert web.client.get("/personas").status_code == 200
    assert web.client.get(f"/?token={web.token}").status_code == 200
    # a second browser (no cookie) cannot use the spent token
    web.client.cookies.clear()
    again = web.client.get(f"/?token={web.token}", follow_redirects=False)
    assert again.status_code == 403
    assert "already used" in again.text
    assert web.client.get("/calendar").status_code == 403


def test_the_redirect_after_the_token_stays_on_this_site():
    """A path starting with two slashes would make the redirect a link to another host."""
    import asyncio

    from crosspost.web.security import Gate, OneTimeToken

    async def app(scope, receive, send):
        raise AssertionError("the token is answered by the gate")

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "//evil.example/x",
        "query_string": b"token=abc&view=month",
        "session": {},
        "headers": [],
    }
    asyncio.run(Gate(app, OneTimeToken("abc"))(scope, receive, send))
    assert sent[0]["status"] == 303
    location = dict(sent[0]["headers"])[b"location"].decode()
    assert location == "/evil.example/x?view=month"


def test_a_wrong_token_opens_nothing(web):
    r = web.client.get("/?token=not-the-token", follow_redirects=False)
    assert r.status_code == 403
    assert web.client.get(f"/?token={web.token}", follow_redirects=False).status_code == 303


def test_every_post_needs_the_csrf_token(web):
    web.login()
    csrf = web.csrf()
    posts = [
        ("/api/check", {"persona": "professional", "body": "Hello", "to": "blog"}),
        ("/compose", {"persona": "professional", "body": "Hello", "to": "blog", "when": "now"}),
        ("/posts/1/cancel", {}),
        ("/posts/1/reschedule", {"at": "+2h"}),
    ]
    for path, form in posts:
        assert web.client.post(path, data=form).status_code == 403, path
        bad = web.client.post(path, data={**form, "csrf": "forged"})
        assert bad.status_code == 403, path
        assert (
            web.client.post(path, data=form, headers={"x-csrf-token": "forged"}).status_code == 403
        )
    assert web.app.store.list_posts()[1] == 0, "nothing was queued by a refused request"
    ok = web.client.post("/api/check", data=posts[0][1], headers={"x-csrf-token": csrf})
    assert ok.status_code == 200 and ok.json()["blocked"] is False
    assert web.client.post("/api/check", data={**posts[0][1], "csrf": csrf}).status_code == 200


def test_every_page_carries_a_strict_policy_and_no_inline_script_or_style(web):
    web.login()
    for path in (
        "/calendar",
        "/calendar?view=month",
        "/compose?persona=personal",
        "/personas",
        "/audit",
    ):
        r = web.client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path
        assert "<style" not in r.text and " style=" not in r.text and "onclick" not in r.text


def test_a_foreign_host_header_is_refused(web):
    web.login()
    # a page on another site reaching 127.0.0.1 by DNS rebinding names its own host
    assert web.client.get("/calendar", headers={"host": "attacker.example"}).status_code == 400
    assert web.client.get("/calendar", headers={"host": "localhost:8765"}).status_code == 200


def test_the_network_needs_tls_or_a_proxy(site):
    r = site.run("serve", "--host", "0.0.0.0", "--no-browser", "--port", "0")
    assert r.code == 2
    assert "without encryption" in r.err and "--tls-cert" in r.err
    from crosspost.errors import UsageError
    from crosspost.web.server import Options, allowed_hosts, check_options

    check_options(Options(host="0.0.0.0", behind_proxy=True))
    check_options(Options(host="::1"))
    with pytest.raises(UsageError, match="go together"):
        check_options(Options(host="127.0.0.1", tls_key=site.root))
    assert allowed_hosts(Options(host="127.0.0.1")) == ["127.0.0.1", "localhost", "::1"]
    assert allowed_hosts(Options(host="10.0.0.5", allow_hosts=("cp.example",))) == [
        "10.0.0.5",
        "cp.example",
    ]


def test_serve_prints_a_link_that_opens_the_calendar(site):
    import httpx

    from tests.support.procs import env_for
    from tests.web.conftest import start_serve

    env = env_for(site.root, CROSSPOST_CONFIG=str(site.config))
    proc, url = start_serve(site.config, env, site.root)
    try:
        with httpx.Client(timeout=30) as c:
            base = url.split("/?")[0]
            assert c.get(base + "/calendar").status_code == 403
            r = c.get(url, follow_redirects=True)
            assert r.status_code == 200
            assert "professional" in r.text and "personal" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_only_the_serve_command_imports_the_web_app():
    from tests.test_imports import import_graph

    graph = import_graph()
    users = {
        m
        for m, deps in graph.items()
        if not m.startswith("crosspost.web") and any(d.startswith("crosspost.web") for d in deps)
    }
    assert users == {"crosspost.cli_serve"}
    # and the web app queues, checks and moves posts through the library the commands use
    assert {"crosspost.queueing", "crosspost.claims", "crosspost.preview"} <= graph[
        "crosspost.web.actions"
    ]


def _self_signed(folder):
    """A certificate for 127.0.0.1 and its key, as PEM files (cryptography comes with the
    Bluesky SDK)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_with_tls_the_link_is_https_and_the_cookie_secure(site):
    import httpx

    from tests.support.procs import env_for
    from tests.web.conftest import start_serve

    cert, key = _self_signed(site.root)
    env = env_for(site.root, CROSSPOST_CONFIG=str(site.config))
    proc, url = start_serve(
        site.config, env, site.root, "--tls-cert", str(cert), "--tls-key", str(key)
    )
    try:
        assert url.startswith("https://127.0.0.1:")
        import ssl

        with httpx.Client(timeout=30, verify=ssl.create_default_context(cafile=str(cert))) as c:
            r = c.get(url, follow_redirects=False)
            assert r.status_code == 303
            assert "secure" in r.headers["set-cookie"].lower()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
