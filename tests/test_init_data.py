"""`crosspost init DIR` keeps everything the configuration writes under DIR, so two
configurations never share a queue unless their database_url says so."""

from __future__ import annotations

import json
from pathlib import Path

from crosspost.cli import run
from crosspost.settings import load_settings


def crosspost(capsys, config: Path, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["--config", str(config), *args])
    cap = capsys.readouterr()
    return code, cap.out + cap.err


def test_two_initialised_configurations_do_not_share_a_queue(tmp_path, capsys):
    a, b = tmp_path / "A", tmp_path / "B"
    assert run(["init", str(a)]) == 0
    assert run(["init", str(b)]) == 0
    code, out = crosspost(
        capsys,
        a / "config.toml",
        "queue",
        "--persona",
        "professional",
        "--text",
        "Boundaries matter.",
        "--to",
        "pro-feed",
        "--at",
        "now",
    )
    assert code == 0, out

    code, out = crosspost(capsys, b / "config.toml", "daemon", "--once")
    assert code == 0, out
    feeds = [p / "sites" / "professional" / "static" / "feed.xml" for p in (a, b)]
    assert not any(f.exists() for f in feeds), "B's daemon published A's post"
    code, out = crosspost(capsys, a / "config.toml", "list", "--format", "json")
    posts = json.loads(out)["posts"]
    assert [p["status"] for p in posts] == ["queued"]
    code, out = crosspost(capsys, b / "config.toml", "list", "--format", "json")
    assert json.loads(out)["total"] == 0

    # A's own daemon publishes it, into A
    assert crosspost(capsys, a / "config.toml", "daemon", "--once")[0] == 0
    assert feeds[0].exists() and not feeds[1].exists()


def test_init_writes_a_database_url_inside_the_folder(tmp_path, monkeypatch, capsys):
    a = tmp_path / "A"
    assert run(["init", str(a)]) == 0
    text = (a / "config.toml").read_text(encoding="utf-8")
    assert '\ndatabase_url = "sqlite:///data/crosspost.db"\n' in text
    assert '\ndata_dir = "data"\n' in text
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative paths follow the config file, not the shell
    s = load_settings(a / "config.toml")
    assert s.resolved_database_url() == f"sqlite:///{a.resolve()}/data/crosspost.db"
    assert s.resolved_data_dir() == a.resolve() / "data"
    from PIL import Image

    Image.new("RGB", (4, 4), "white").save(tmp_path / "photo.png")
    entry = tmp_path / "entry.md"
    entry.write_text(
        "---\ntitle: Hives\nmedia:\n  - path: photo.png\n    alt: hives\n---\n"
        "Wrapped for winter.\n",
        encoding="utf-8",
    )
    code, out = crosspost(
        capsys,
        a / "config.toml",
        "queue",
        str(entry),
        "--persona",
        "personal",
        "--to",
        "home-feed",
        "--at",
        "+1h",
    )
    assert code == 0, out
    assert (a / "data" / "crosspost.db").exists()
    assert list((a / "data" / "media").iterdir())
    assert not list(elsewhere.iterdir())
    assert not (tmp_path / "xdg-data").exists()


def test_init_in_the_user_config_folder_keeps_the_platform_default(tmp_path, capsys):
    assert run(["init"]) == 0
    config = tmp_path / "xdg-config" / "crosspost" / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert "\ndatabase_url" not in text and "\ndata_dir" not in text


def test_a_relative_sqlite_path_is_relative_to_the_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.toml").write_text('database_url = "sqlite:///queue/x.db?timeout=5"\n')
    monkeypatch.chdir(tmp_path)
    s = load_settings(cfg / "config.toml")
    assert s.resolved_database_url() == f"sqlite:///{cfg.resolve()}/queue/x.db?timeout=5"
    for url in (
        "sqlite:////srv/q.db",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql://maya@db.example/crosspost",
    ):
        monkeypatch.setenv("CROSSPOST_DATABASE_URL", url)
        assert load_settings(cfg / "config.toml").resolved_database_url() == url
    monkeypatch.setenv("CROSSPOST_DATABASE_URL", "sqlite:///other.db")
    assert load_settings(cfg / "config.toml").resolved_database_url() == (
        f"sqlite:///{cfg.resolve()}/other.db"
    )


def test_what_adapters_learn_about_servers_stays_in_the_folder(tmp_path, capsys):
    """A Mastodon instance's limits, cached by preview (and the daemon), go to DIR/data."""
    from crosspost.platforms import mastodon as mastodon_module
    from tests.fakes.mastodon import FakeMastodon

    a = tmp_path / "A"
    assert run(["init", str(a)]) == 0
    profile = a / "profiles" / "professional.toml"
    mastodon_module.clear_instance_cache()
    with FakeMastodon(access_token="unused", max_characters=700) as fake:
        instance = fake.url
        text = profile.read_text(encoding="utf-8")
        profile.write_text(
            text + f'\n[[accounts]]\nname = "pro-toot"\nplatform = "mastodon"\n'
            f'handle = "@someone@127.0.0.1"\ninstance = "{fake.url}"\n',
            encoding="utf-8",
        )
        code, out = crosspost(
            capsys,
            a / "config.toml",
            "preview",
            "--persona",
            "professional",
            "--text",
            "Boundaries matter.",
            "--to",
            "pro-toot",
            "--format",
            "json",
        )
        assert code == 0, out
        assert json.loads(out)["targets"][0]["limit"] == 700
    mastodon_module.clear_instance_cache()
    cache = a / "data" / "cache" / "mastodon-instances.json"
    assert json.loads(cache.read_text())[instance]["limits"]["max_characters"] == 700
    assert not (tmp_path / "xdg-cache").exists()
