"""The requests session that reads proxy settings once must decide exactly like requests."""

from __future__ import annotations

import pytest
import requests

from crosspost.platforms._http import steady_session_class

URLS = [
    "https://social.example/api/v1/statuses",
    "http://social.example/api/v1/statuses",
    "https://internal.example/api/v1/statuses",
    "https://sub.internal.example/x",
    "http://127.0.0.1:8080/api",
]


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"HTTPS_PROXY": "http://proxy.example:3128", "HTTP_PROXY": "http://p2.example:8080"},
        {"https_proxy": "http://proxy.example:3128", "no_proxy": "internal.example,127.0.0.1"},
        {"ALL_PROXY": "socks5://socks.example:1080", "NO_PROXY": "*"},
        {"REQUESTS_CA_BUNDLE": "/etc/ssl/bundle.pem"},
        {"CURL_CA_BUNDLE": "/etc/ssl/curl.pem", "HTTPS_PROXY": "http://proxy.example:3128"},
    ],
)
def test_same_settings_as_requests(env, monkeypatch):
    for key in (
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    steady = steady_session_class()()
    plain = requests.Session()
    for url in URLS:
        for verify in (None, True, False, "/explicit.pem"):
            expected = plain.merge_environment_settings(url, {}, None, verify, None)
            for _ in range(2):  # the second answer comes from what the first one kept
                assert steady.merge_environment_settings(url, {}, None, verify, None) == expected


def test_session_and_request_proxies_as_requests_merges_them(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    steady = steady_session_class()()
    plain = requests.Session()
    for s in (steady, plain):
        s.proxies = {"https": "http://session.example:1", "http": "http://session.example:2"}
    for given in ({}, {"https": "http://per-request.example:3"}):
        expected = plain.merge_environment_settings(URLS[0], dict(given), None, None, None)
        got = steady.merge_environment_settings(URLS[0], dict(given), None, None, None)
        assert got == expected
    assert got["proxies"]["https"] == "http://per-request.example:3"


def test_trust_env_off_ignores_the_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    steady = steady_session_class()()
    steady.trust_env = False
    assert steady.merge_environment_settings(URLS[0], {}, None, None, None)["proxies"] == {}
