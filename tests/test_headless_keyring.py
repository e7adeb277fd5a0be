"""A headless server's keyring: keyrings.cryptfile, unlocked from KEYRING_CRYPTFILE_PASSWORD."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CRYPT = "keyrings.cryptfile.cryptfile.CryptFileKeyring"


def run(ws, tmp_path, *args: str, password: str, stdin: str = ""):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "home" / "data"),
        PYTHON_KEYRING_BACKEND=CRYPT,
        KEYRING_CRYPTFILE_PASSWORD=password,
    )
    return subprocess.run(
        [sys.executable, "-m", "crosspost", "--config", str(ws.config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_encrypted_file_keyring_without_a_terminal(ws, tmp_path):
    token = "mastodon-secret-token-4242"
    r = run(
        ws,
        tmp_path,
        "accounts",
        "login",
        "pro-mastodon",
        "--stdin",
        password="correct horse",
        stdin=token + "\n",
    )
    assert r.returncode == 0, r.stderr
    stored = list((tmp_path / "home").rglob("cryptfile_pass.cfg"))
    assert stored, "the secret lives in the encrypted file"
    assert token not in stored[0].read_text()

    ok = run(ws, tmp_path, "doctor", "--format", "json", password="correct horse")
    checks = {c["check"]: c for c in json.loads(ok.stdout)["checks"]}
    assert checks["keyring"]["ok"] and "CryptFileKeyring" in checks["keyring"]["detail"]
    assert checks["professional/pro-mastodon"]["ok"]

    bad = run(ws, tmp_path, "doctor", "--format", "json", password="wrong")
    checks = {c["check"]: c for c in json.loads(bad.stdout)["checks"]}
    assert not checks["professional/pro-mastodon"]["ok"]
    assert "KEYRING_CRYPTFILE_PASSWORD" in checks["professional/pro-mastodon"]["detail"]
    assert "Traceback" not in bad.stderr
