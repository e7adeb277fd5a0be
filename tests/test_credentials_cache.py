"""The daemon keeps secrets read from the keyring for a while; changes still get through."""

from __future__ import annotations

import time

import pytest

from crosspost import credentials


class CountingKeyring:
    """Wraps the test keyring and counts reads, to see which ones reach the backend."""

    def __init__(self, ring, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        original = ring.get_password

        def get_password(service: str, username: str) -> str | None:
            self.reads += 1
            return original(service, username)

        monkeypatch.setattr(ring, "get_password", get_password)


@pytest.fixture
def ring(isolated, monkeypatch):
    credentials.store("pro", "pro-masto", {"access_token": "token-one"})
    return CountingKeyring(isolated, monkeypatch)


def test_without_keeping_every_read_asks_the_keyring(ring):
    for _ in range(3):
        assert credentials.load("pro", "pro-masto", ("access_token",)) == {
            "access_token": "token-one"
        }
    assert ring.reads == 3


def test_kept_secrets_are_read_once(ring):
    credentials.keep_in_memory(60)
    for _ in range(5):
        credentials.load("pro", "pro-masto", ("access_token",))
    assert ring.reads == 1


def test_a_new_login_is_seen_at_once(ring):
    credentials.keep_in_memory(60)
    credentials.load("pro", "pro-masto", ("access_token",))
    credentials.store("pro", "pro-masto", {"access_token": "token-two"})
    assert credentials.load("pro", "pro-masto", ("access_token",))["access_token"] == "token-two"


def test_forget_after_a_failure_reads_again(ring, isolated):
    credentials.keep_in_memory(60)
    credentials.load("pro", "pro-masto", ("access_token",))
    # another process (crosspost accounts login) changed the keyring meanwhile
    isolated.items[("crosspost/pro/pro-masto", "access_token")] = "token-three"
    assert credentials.load("pro", "pro-masto", ("access_token",))["access_token"] == "token-one"
    credentials.forget("pro-masto")
    assert credentials.load("pro", "pro-masto", ("access_token",))["access_token"] == "token-three"


def test_kept_secrets_expire(ring):
    credentials.keep_in_memory(0.05)
    credentials.load("pro", "pro-masto", ("access_token",))
    time.sleep(0.1)
    credentials.load("pro", "pro-masto", ("access_token",))
    assert ring.reads == 2


def test_missing_secrets_are_not_kept(ring):
    credentials.keep_in_memory(60)
    with pytest.raises(credentials.MissingCredentials):
        credentials.load("pro", "other", ("access_token",))
    credentials.store("pro", "other", {"access_token": "now-there"})
    assert credentials.load("pro", "other", ("access_token",)) == {"access_token": "now-there"}
