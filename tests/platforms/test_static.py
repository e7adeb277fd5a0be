"""StaticSiteAdapter: files, front matter round trips, URLs, idempotency, media, git, atomicity."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosspost.errors import PermanentError, TransientError
from crosspost.platforms import static_files
from crosspost.platforms.base import MediaItem
from crosspost.platforms.static import (
    StaticSiteAdapter,
    read_front_matter,
    render_hugo,
    render_jekyll,
    render_pelican,
    toml_string,
)
from crosspost.sharetext import canonical_url

from .localfiles import WHEN, blog, front_matter, media, pub, short, static_ctx

FORMATS = ("hugo", "jekyll", "pelican")
EXPECTED_FILE = {
    "hugo": "sleep-and-anxiety.md",
    "jekyll": "2024-05-01-sleep-and-anxiety.md",
    "pelican": "sleep-and-anxiety.md",
}
TRICKY_TITLES = [
    'He said "hi"',
    "It's fine",
    "back\\slash and \\n literal",
    "two\nlines\r\nand\ttab",
    "Emoji 😀🧠 and ünïcödé, 中文",
    "+++",
    "---",
    "...",
    "key: value # not a comment",
    "[table] = {inline}",
    "yes",
    "null",
    "2024-05-01",
    "1e3",
    "@handle & *alias !tag %percent |pipe >fold",
    '"""triple"""',
    "line\u2028separator\u2029paragraph\x85nel",
    "delete\x7fand\x01control",
    "  padded  ",
    "Title: inside title",
]


def adapter(tmp_path: Path, fmt: str = "hugo", **kw: object) -> StaticSiteAdapter:
    (tmp_path / "site").mkdir(exist_ok=True)
    return StaticSiteAdapter(static_ctx(blog(tmp_path / "site" / "posts", fmt, **kw)))


def site(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir(exist_ok=True)
    return tmp_path / "site" / "posts"


def entry_files(d: Path) -> list[str]:
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*.md"))


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# -- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_writes_the_expected_file_and_front_matter(tmp_path: Path, fmt: str) -> None:
    d = site(tmp_path)
    a = adapter(tmp_path, fmt)
    result = a.publish(pub())

    assert result.remote_id == EXPECTED_FILE[fmt]
    assert entry_files(d) == [EXPECTED_FILE[fmt]]
    meta, body = front_matter((d / result.remote_id).read_text("utf-8"), fmt)
    local = WHEN.astimezone(a.persona.tz)
    if fmt == "pelican":
        assert meta["title"] == "Sleep and anxiety"
        assert datetime.fromisoformat(meta["date"]) == local
        assert meta["tags"] == "sleep, anxiety"
        assert meta["category"] == "practice"
        assert meta["summary"] == "Why sleep matters."
        assert meta["crosspost_id"] == pub().idempotency_key
    else:
        assert meta["title"] == "Sleep and anxiety"
        assert meta["date"] == WHEN  # same instant …
        assert meta["date"].utcoffset() == local.utcoffset()  # … written with the local offset
        assert meta["tags"] == ["sleep", "anxiety"]
        assert meta["categories"] == ["practice"]
        assert meta["crosspost_id"] == pub().idempotency_key
    assert meta["slug"] == "sleep-and-anxiety"
    if fmt == "hugo":
        assert meta["draft"] is False
        assert meta["summary"] == "Why sleep matters."
    if fmt == "jekyll":
        assert meta["layout"] == "post"
        assert meta["excerpt"] == "Why sleep matters."
    assert body.strip() == pub().body


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("title", TRICKY_TITLES)
def test_tricky_titles_round_trip(tmp_path: Path, fmt: str, title: str) -> None:
    d = site(tmp_path)
    result = adapter(tmp_path, fmt).publish(pub(title=title, summary=title, tags=(title,)))
    meta, body = front_matter((d / result.remote_id).read_text("utf-8"), fmt)
    if fmt == "pelican":  # metadata is line based: whitespace runs become one space
        assert meta["title"] == " ".join(title.split())
    else:
        assert meta["title"] == title
        assert meta["tags"] == [title]
        assert meta["summary" if fmt == "hugo" else "excerpt"] == title
    assert body.strip() == pub().body


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_toml_string_round_trips_any_text(value: str) -> None:
    assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value


@settings(max_examples=200, deadline=None)
@given(title=st.text(min_size=1), tags=st.lists(st.text(min_size=1), max_size=3))
def test_front_matter_round_trips_any_title(title: str, tags: list[str]) -> None:
    meta = {
        "title": title,
        "date": WHEN,
        "slug": "s",
        "summary": title,
        "tags": tags,
        "categories": tags,
        "marker": "k",
    }
    for render in (render_hugo, render_jekyll):
        text = render(meta) + "\nbody\n"
        back = read_front_matter(text)
        assert back["title"] == title
        assert back["tags" if tags else "slug"] == (tags or "s")
        assert back["crosspost_id"] == "k"
    pel = read_front_matter(render_pelican(meta) + "\nbody\n")
    assert pel["title"] == " ".join(title.split())
    assert pel["crosspost_id"] == "k"


@pytest.mark.parametrize(
    "title",
    ["Plain", 'Quotes " and \\ backslash', "Multi\nline title", "Résumé 😀 key: value"],
)
def test_pelican_metadata_reads_the_same_with_python_markdown(tmp_path: Path, title: str) -> None:
    """Pelican reads Markdown metadata with Python-Markdown's meta extension."""
    markdown = pytest.importorskip("markdown")
    d = site(tmp_path)
    p = pub(title=title, summary="First line\nsecond line", tags=("a,b", "c"))
    result = adapter(tmp_path, "pelican").publish(p)
    md = markdown.Markdown(extensions=["meta"])
    md.convert((d / result.remote_id).read_text("utf-8"))
    assert md.Meta["title"] == [" ".join(title.split())]
    assert md.Meta["slug"] == ["sleep-and-anxiety"]
    assert md.Meta["summary"] == ["First line", "second line"]
    assert md.Meta["tags"] == ["a,b; c"]  # Pelican splits on ';' when present
    assert md.Meta["crosspost_id"] == [p.idempotency_key]


# -- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_url_is_the_one_preview_predicts(tmp_path: Path, fmt: str) -> None:
    a = adapter(tmp_path, fmt)
    result = a.publish(pub())
    assert result.url == canonical_url(a.blog, "sleep-and-anxiety")
    assert result.url == "https://northlight.example/posts/sleep-and-anxiety/"


@pytest.mark.parametrize("fmt", FORMATS)
def test_date_permalink_uses_the_persona_local_date(tmp_path: Path, fmt: str) -> None:
    late = datetime(2024, 5, 2, 3, 0, tzinfo=UTC)  # still 1 May in Chicago
    a = adapter(tmp_path, fmt, permalink="/{year}/{month}/{day}/{slug}.html")
    result = a.publish(pub(scheduled_at=late))
    assert result.url == "https://northlight.example/2024/05/01/sleep-and-anxiety.html"
    local = late.astimezone(a.persona.tz)
    assert result.url == canonical_url(a.blog, "sleep-and-anxiety", date=local)
    if fmt == "jekyll":
        assert result.remote_id == "2024-05-01-sleep-and-anxiety.md"


def test_canonical_url_keeps_its_old_signature_and_reports_bad_patterns(tmp_path: Path) -> None:
    b = blog(tmp_path, url="https://x.example")
    assert canonical_url(b, "a") == "https://x.example/posts/a/"
    dated = blog(tmp_path, permalink="/{year}/{slug}/")
    with pytest.raises(ValueError, match="date"):
        canonical_url(dated, "a")
    # a bad pattern is refused when the profile is loaded, before anything is published
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not a valid pattern"):
        blog(tmp_path, permalink="/{title}/")


def test_blog_url_with_a_path_prefix(tmp_path: Path) -> None:
    a = adapter(tmp_path, "hugo", url="https://x.example/blog")
    assert a.publish(pub()).url == "https://x.example/blog/posts/sleep-and-anxiety/"


# -- idempotency and slugs -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_publishing_twice_writes_one_file(tmp_path: Path, fmt: str) -> None:
    d = site(tmp_path)
    a = adapter(tmp_path, fmt)
    first = a.publish(pub())
    before = (d / first.remote_id).stat().st_mtime_ns
    assert a.lookup(pub()) == first
    assert a.publish(pub()) == first
    assert entry_files(d) == [first.remote_id]
    assert (d / first.remote_id).stat().st_mtime_ns == before  # not rewritten
    assert a.lookup(pub(idempotency_key="another")) is None


def test_lookup_without_content_dir_is_none(tmp_path: Path) -> None:
    assert adapter(tmp_path).lookup(pub()) is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_slug_taken_by_another_entry_gets_a_suffix(tmp_path: Path, fmt: str) -> None:
    d = site(tmp_path)
    d.mkdir()
    (d / EXPECTED_FILE[fmt]).write_text("Title: mine\n\nwritten by hand\n", "utf-8")
    a = adapter(tmp_path, fmt)

    second = a.publish(pub(idempotency_key="k2"))
    third = a.publish(pub(idempotency_key="k3"))
    assert second.remote_id == EXPECTED_FILE[fmt].replace("anxiety", "anxiety-2")
    assert third.remote_id == EXPECTED_FILE[fmt].replace("anxiety", "anxiety-3")
    assert second.url == canonical_url(a.blog, "sleep-and-anxiety-2")
    assert third.url == "https://northlight.example/posts/sleep-and-anxiety-3/"
    meta, _ = front_matter((d / second.remote_id).read_text("utf-8"), fmt)
    assert meta["slug"] == "sleep-and-anxiety-2"
    # the retry finds the suffixed file (not at the expected path) and does not write another
    assert a.lookup(pub(idempotency_key="k2")) == second
    assert a.publish(pub(idempotency_key="k2")) == second
    assert len(entry_files(d)) == 3


@pytest.mark.parametrize(
    ("fmt", "name", "text"),
    [
        ("hugo", "other.md", '+++\ntitle = "x"\nslug = "sleep-and-anxiety"\n+++\nbody\n'),
        ("hugo", "sleep-and-anxiety/index.md", '+++\ntitle = "bundle"\n+++\nbody\n'),
        ("jekyll", "2019-01-01-sleep-and-anxiety.md", "---\ntitle: older\n---\nbody\n"),
        ("pelican", "notes.md", "Title: Sleep and Anxiety!\nDate: 2020-01-01\n\nbody\n"),
    ],
)
def test_slug_claimed_elsewhere_in_the_folder(
    tmp_path: Path, fmt: str, name: str, text: str
) -> None:
    d = site(tmp_path)
    (d / name).parent.mkdir(parents=True)
    (d / name).write_text(text, "utf-8")
    result = adapter(tmp_path, fmt).publish(pub())
    assert result.url == "https://northlight.example/posts/sleep-and-anxiety-2/"


def test_hostile_slug_stays_inside_the_folder(tmp_path: Path) -> None:
    d = site(tmp_path)
    result = adapter(tmp_path).publish(pub(slug="../../etc/passwd"))
    assert result.remote_id == "etc-passwd.md"
    assert (d / "etc-passwd.md").is_file()


# -- short posts and media -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_short_post_is_written_without_a_title(tmp_path: Path, fmt: str) -> None:
    d = site(tmp_path)
    p = short()
    result = adapter(tmp_path, fmt).publish(p)
    meta, body = front_matter((d / result.remote_id).read_text("utf-8"), fmt)
    if fmt == "pelican":
        assert meta["title"] == ""  # Pelican needs the field; an empty one is accepted
    else:
        assert "title" not in meta
    assert meta["slug"] == p.slug
    assert body.strip() == p.body
    assert result.url == canonical_url(blog(d), p.slug)


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (2, 2), "red").save(path)
    return path


@pytest.mark.parametrize(
    ("fmt", "entry", "media_file", "ref"),
    [
        (
            "hugo",
            "posts/sleep-and-anxiety/index.md",
            "posts/sleep-and-anxiety/my-photo.png",
            "my-photo.png",
        ),
        (
            "jekyll",
            "posts/2024-05-01-sleep-and-anxiety.md",
            "assets/posts/sleep-and-anxiety/my-photo.png",
            "/blog/assets/posts/sleep-and-anxiety/my-photo.png",
        ),
        (
            "pelican",
            "posts/sleep-and-anxiety.md",
            "posts/images/sleep-and-anxiety/my-photo.png",
            "{static}images/sleep-and-anxiety/my-photo.png",
        ),
    ],
)
def test_media_are_copied_and_referenced_with_alt_text(
    tmp_path: Path, fmt: str, entry: str, media_file: str, ref: str
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "_config.yml").write_text("title: x\n")
    snap = tmp_path / "snapshots"
    snap.mkdir()
    items = (
        media(_png(snap / "My Photo.PNG"), "A [red] *square*"),
        media(_png(snap / "second.png"), "two\nlines"),
    )
    a = adapter(tmp_path, fmt, url="https://northlight.example/blog")
    result = a.publish(pub(media=items))

    assert (root / entry).is_file()
    assert result.remote_id == Path(entry).relative_to("posts").as_posix()
    assert (root / media_file).read_bytes() == (snap / "My Photo.PNG").read_bytes()
    assert (root / media_file).with_name("second.png").is_file()
    text = (root / entry).read_text("utf-8")
    assert f"![A \\[red\\] \\*square\\*]({ref})" in text
    assert "![two lines](" in text
    assert result.url == "https://northlight.example/blog/posts/sleep-and-anxiety/"
    assert a.publish(pub(media=items)) == result  # idempotent with media too


def test_missing_media_snapshot_is_permanent_and_writes_no_entry(tmp_path: Path) -> None:
    d = site(tmp_path)
    with pytest.raises(PermanentError, match="missing") as e:
        adapter(tmp_path).publish(pub(media=(media(tmp_path / "gone.jpg", "x"),)))
    assert e.value.hint
    assert entry_files(d) == []


# -- atomicity and errors --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_temporary_files_are_left(tmp_path: Path, fmt: str) -> None:
    a = adapter(tmp_path, fmt)
    snap = _png(tmp_path / "p.png")
    for i in range(3):
        a.publish(pub(idempotency_key=f"k{i}", media=(media(snap),)))
    leftovers = [p for p in all_files(tmp_path / "site") if p.name.startswith(".")]
    assert leftovers == []


def test_crash_during_write_leaves_no_entry_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = site(tmp_path)

    def boom(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(static_files.os, "fsync", boom)
    with pytest.raises(TransientError) as e:
        adapter(tmp_path).publish(pub())
    assert e.value.maybe_sent is False
    assert str(d) in (e.value.hint or "")
    assert all_files(d) == []


def test_permission_error_is_permanent_and_names_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = site(tmp_path)

    def denied(*args: object, **kw: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(d))

    monkeypatch.setattr(static_files.tempfile, "mkstemp", denied)
    with pytest.raises(PermanentError) as e:
        adapter(tmp_path).publish(pub())
    assert str(d) in (e.value.hint or "")
    assert "Permission denied" in e.value.message


def test_content_dir_is_created_only_when_its_parent_exists(tmp_path: Path) -> None:
    assert adapter(tmp_path).publish(pub()).remote_id == "sleep-and-anxiety.md"
    deep = StaticSiteAdapter(static_ctx(blog(tmp_path / "nope" / "content" / "posts")))
    with pytest.raises(PermanentError) as e:
        deep.publish(pub())
    assert "nope" in (e.value.hint or "")
    assert not (tmp_path / "nope").exists()


def test_concurrent_publishers_pick_distinct_slugs(tmp_path: Path) -> None:
    d = site(tmp_path)
    results: list[str] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results.append(adapter(tmp_path).publish(pub(idempotency_key=f"k{i}")).remote_id)
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == entry_files(d)
    assert len(set(results)) == 6


def test_verify(tmp_path: Path) -> None:
    a = adapter(tmp_path)
    assert "will be created" in a.verify()
    site(tmp_path).mkdir()
    desc = a.verify()
    assert "writable" in desc and str(site(tmp_path)) in desc
    with pytest.raises(PermanentError):
        StaticSiteAdapter(static_ctx(blog(tmp_path / "a" / "b" / "c"))).verify()


# -- git -------------------------------------------------------------------------------------


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No global or system git config: the machine's identity must not leak into tests."""
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)
    return dict(os.environ)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def init_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "site"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo


def commits(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "log", "--format=%an <%ae>|%s"], cwd=repo, capture_output=True, text=True
    )
    return out.stdout.splitlines() if out.returncode == 0 else []


@pytest.mark.parametrize("fmt", FORMATS)
def test_git_commit_makes_one_commit_per_publish(
    tmp_path: Path, git_env: dict[str, str], fmt: str
) -> None:
    repo = init_repo(tmp_path)
    (repo / "_config.yml").write_text("title: x\n")
    (repo / "unrelated.txt").write_text("staged by the user\n")
    git(repo, "add", "unrelated.txt")
    a = adapter(tmp_path, fmt, git_commit=True)

    first = a.publish(pub(media=(media(_png(tmp_path / "p.png"), "alt"),)))
    assert commits(repo) == ["crosspost <crosspost@localhost>|crosspost: Sleep and anxiety"]
    a.publish(pub())  # retry: nothing new
    assert a.lookup(pub()) == first
    assert len(commits(repo)) == 1
    a.publish(short(idempotency_key="k2"))
    log = commits(repo)
    assert len(log) == 2
    assert log[0].endswith("crosspost: Out of office until Monday, back with news about groups.")
    committed = git(repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert "posts/" + first.remote_id in committed
    assert any(name.endswith("p.png") for name in committed)
    # the user's own staged work is neither committed nor unstaged
    assert "unrelated.txt" not in committed
    assert git(repo, "diff", "--cached", "--name-only").split() == ["unrelated.txt"]


def test_git_commit_uses_the_configured_identity(tmp_path: Path, git_env: dict[str, str]) -> None:
    repo = init_repo(tmp_path)
    git(repo, "config", "user.name", "Nora")
    git(repo, "config", "user.email", "nora@northlight.example")
    adapter(tmp_path, git_commit=True).publish(pub())
    assert commits(repo) == ["Nora <nora@northlight.example>|crosspost: Sleep and anxiety"]


def test_git_commit_outside_a_work_tree_is_skipped(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    a = adapter(tmp_path, git_commit=True)
    assert a.publish(pub()).remote_id == "sleep-and-anxiety.md"
    assert "not in a git work tree" in a.verify()


def test_git_commit_failure_is_permanent_and_lookup_finishes_it(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    repo = init_repo(tmp_path)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    a = adapter(tmp_path, git_commit=True)
    with pytest.raises(PermanentError) as e:
        a.publish(pub())
    assert "hook says no" in e.value.message
    assert "git_commit" in (e.value.hint or "")
    assert (repo / "posts" / "sleep-and-anxiety.md").is_file()
    assert commits(repo) == []

    hook.unlink()
    assert a.lookup(pub()) is not None
    assert len(commits(repo)) == 1
    assert f"commits to the git repository at {repo}" in a.verify()


def test_git_refusing_the_repository_is_an_error_not_a_silent_skip(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    repo = init_repo(tmp_path)
    (repo / ".git" / "HEAD").write_text("garbage\n")  # git no longer sees a repository here
    a = adapter(tmp_path, git_commit=True)
    with pytest.raises(PermanentError, match="git rev-parse failed"):
        a.publish(pub())


def test_foreign_and_broken_files_in_the_folder_do_not_stop_publishing(tmp_path: Path) -> None:
    d = site(tmp_path)
    d.mkdir()
    (d / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", "utf-8")
    (d / "bad.md").write_text('+++\ntitle = "unclosed\n+++\n', "utf-8")
    (d / "binary.md").write_bytes(b"\xff\xfe\x00garbage")
    (d / ".hidden.md").write_text('+++\nslug = "sleep-and-anxiety"\n+++\n', "utf-8")
    result = adapter(tmp_path).publish(pub())
    assert result.remote_id == "sleep-and-anxiety.md"  # the hidden file is not an entry


def test_content_dir_that_is_a_file_is_permanent(tmp_path: Path) -> None:
    site(tmp_path).write_text("oops")
    with pytest.raises(PermanentError, match="not a folder"):
        adapter(tmp_path).publish(pub())


@pytest.mark.parametrize(
    ("fmt", "entry", "media_file", "ref"),
    [
        (
            "hugo",
            "posts/sleep-and-anxiety/index.md",
            "posts/sleep-and-anxiety/lake.png",
            "lake.png",
        ),
        (
            "jekyll",
            "posts/2024-05-01-sleep-and-anxiety.md",
            "assets/posts/sleep-and-anxiety/lake.png",
            "/assets/posts/sleep-and-anxiety/lake.png",
        ),
        (
            "pelican",
            "posts/sleep-and-anxiety.md",
            "posts/images/sleep-and-anxiety/lake.png",
            "{static}images/sleep-and-anxiety/lake.png",
        ),
    ],
)
def test_images_of_the_body_are_copied_and_the_body_points_at_the_copy(
    tmp_path: Path, fmt: str, entry: str, media_file: str, ref: str
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    snap = tmp_path / "snapshots"
    snap.mkdir()
    hashed = _png(snap / "5d41402abc4b2a76b9719d911017c592.png")
    body = 'Dawn: ![a calm lake](photos/lake.png "Lake")\n\nAgain: <img src="photos/lake.png">'
    a = adapter(tmp_path, fmt)
    a.publish(
        pub(body=body, text=body, media=(MediaItem(hashed, "a calm lake", ref="photos/lake.png"),))
    )
    assert (root / media_file).read_bytes() == hashed.read_bytes()
    text = (root / entry).read_text("utf-8")
    assert f'Dawn: ![a calm lake]({ref} "Lake")' in text
    assert f'Again: <img src="{ref}">' in text
    assert "photos/lake.png" not in text
    assert text.count("lake") == 3, "shown where the body has it, not added once more"
