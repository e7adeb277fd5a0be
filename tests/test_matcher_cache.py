"""The compiled matcher kept on disk: keyed by the configuration, free of confidential plain
text, rebuilt when damaged, safe when two processes build it at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from crosspost import matchercache
from crosspost.guard import GuardProfile, TextField, check_content
from crosspost.guard import matcher as matcher_module
from crosspost.matchercache import cache_key, cached_matcher

CLIENT = "Wilhelmina Quartermaine"


def profiles() -> tuple[GuardProfile, ...]:
    return (
        GuardProfile(
            name="professional",
            names=("Ana Reyes",),
            terms=("Harbor Psychology",),
            handles=("@DrAnaReyes",),
            domains=("harborpsych.example",),
            phones=("+1 503 555 0142",),
            never_mention=("Alberta Arts District",),
            confidential=(CLIENT,),
            packs=("clinician",),
        ),
        GuardProfile(
            name="personal",
            names=("Ana Bee", "Tomasz Bee"),
            terms=("Bee Hollow Apiary",),
            handles=("anabee.bsky.social",),
            domains=("anabee.example",),
        ),
    )


POSTS = [
    ("personal", "Lunch with Ana Reyes from Harbor Psychology at harborpsych.example"),
    ("personal", "call +1 503 555 0142 or ping @DrAnaReyes"),
    ("professional", "Saw Bee Hollow Apiary at anabee.example with A n a B e e"),
    ("professional", "We walked through the Alberta Arts District"),
    ("professional", f"Session notes: {CLIENT} said hello"),
    ("personal", "met w i l h e l m i n a q u a r t e r m a i n e today"),
    ("professional", "The bees cluster to keep warm."),
]


def findings(m: object) -> list[object]:
    return [
        check_content(m, persona, [TextField("body", text)])  # type: ignore[arg-type]
        for persona, text in POSTS
    ]


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("matcher-*.bin"))


def test_cached_matcher_finds_what_a_fresh_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ps = profiles()
    fresh = findings(matcher_module.build_matcher(ps))
    assert any(fresh), "the posts hold leaks"
    first = cached_matcher(ps, secret=None, folder=tmp_path / "guard")
    assert findings(first) == fresh
    assert len(cache_files(tmp_path / "guard")) == 1

    def no_compile(_: object) -> None:
        raise AssertionError("compiled again although the cache holds this configuration")

    monkeypatch.setattr(matchercache, "compile_identity", no_compile)
    second = cached_matcher(ps, secret=None, folder=tmp_path / "guard")
    assert findings(second) == fresh


def test_no_confidential_plain_text_in_the_cache(tmp_path: Path) -> None:
    m = cached_matcher(profiles(), secret=None, folder=tmp_path)
    [path] = cache_files(tmp_path)
    data = path.read_bytes().lower()
    for form in ("wilhelmina", "quartermaine", "wilhelminaquartermaine"):
        assert form.encode() not in data
        assert form.encode("utf-16-le") not in data
    # and the matcher read back from it still knows the client
    m = cached_matcher(profiles(), secret=None, folder=tmp_path)
    found = check_content(m, "personal", [TextField("body", f"I saw {CLIENT} today")])
    assert [f.rule for f in found] == ["confidential"]
    # identity terms, by contrast, are what the cache holds
    assert b"harbor psychology" in data


def test_the_split_letter_index_is_part_of_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Letters written one by one are looked up in the cached tables: neither compiling
    again nor building a second automaton on the first such text."""
    ps = profiles()
    cached_matcher(ps, secret=None, folder=tmp_path)

    def no_compile(_: object) -> None:
        raise AssertionError("compiled again although the cache holds this configuration")

    monkeypatch.setattr(matchercache, "compile_identity", no_compile)
    m = cached_matcher(ps, secret=None, folder=tmp_path)

    class NoAutomaton:
        def __init__(self, *_: object) -> None:
            raise AssertionError("an automaton built after the matcher")

    monkeypatch.setattr(matcher_module.ahocorasick, "Automaton", NoAutomaton)
    text = "ask h a r b o r p s y c h o l o g y or w i l h e l m i n a q u a r t e r m a i n e"
    found = check_content(m, "personal", [TextField("body", text)])
    assert [(f.rule, f.match) for f in found] == [
        ("identity", "h a r b o r p s y c h o l o g y"),
        ("confidential", "w i l h e l m i n a q u a r t e r m a i n e"),
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"terms": ("Harbor Psychology", "Quay Street Clinic")},
        {"names": ("Ana Reyes", "Ana R. Reyes")},
        {"never_mention": ()},
        {"packs": ()},
        {"severity": {"clinician": "off"}},
        {"phone_region": "GB"},
        {"lang": "de"},
        {"confidential_hashes": ("hmac-sha256:1:" + "ab" * 32,)},
    ],
)
def test_any_change_to_a_profile_gives_another_key(tmp_path: Path, change: dict) -> None:
    ps = profiles()
    changed = (replace(ps[0], **change), ps[1])
    assert cache_key(changed) != cache_key(ps)
    cached_matcher(ps, secret=None, folder=tmp_path)
    cached_matcher(changed, secret=None, folder=tmp_path)
    assert len(cache_files(tmp_path)) == 2


def test_a_new_term_is_found_after_the_change(tmp_path: Path) -> None:
    ps = profiles()
    text = "Join us at the Quay Street Clinic"
    m = cached_matcher(ps, secret=None, folder=tmp_path)
    assert check_content(m, "personal", [TextField("body", text)]) == []
    changed = (replace(ps[0], terms=(*ps[0].terms, "Quay Street Clinic")), ps[1])
    m = cached_matcher(changed, secret=None, folder=tmp_path)
    assert [f.match for f in check_content(m, "personal", [TextField("body", text)])] == [
        "Quay Street Clinic"
    ]


def test_the_plain_confidential_list_is_not_in_the_key_but_always_checked(
    tmp_path: Path,
) -> None:
    ps = profiles()
    other = (replace(ps[0], confidential=("Bartholomew Ffinch",)), ps[1])
    assert cache_key(other) == cache_key(ps)  # the tables do not hold it
    cached_matcher(ps, secret=None, folder=tmp_path)
    m = cached_matcher(other, secret=None, folder=tmp_path)
    text = f"{CLIENT} and Bartholomew Ffinch"
    found = check_content(m, "personal", [TextField("body", text)])
    assert [f.match for f in found] == ["Bartholomew Ffinch"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # torn write
        lambda b: b[:-10] + bytes(10),  # payload overwritten
        lambda b: b"garbage",
        lambda b: b"",
        lambda b: b.replace(b"crosspost-matcher", b"something-else!!!", 1),
    ],
)
def test_a_damaged_file_is_rebuilt(
    tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    ps = profiles()
    fresh = findings(cached_matcher(ps, secret=None, folder=tmp_path))
    [path] = cache_files(tmp_path)
    good = path.read_bytes()
    path.write_bytes(damage(good))  # type: ignore[operator]
    with caplog.at_level("DEBUG", logger="crosspost.matchercache"):
        m = cached_matcher(ps, secret=None, folder=tmp_path)
    assert findings(m) == fresh
    assert path.read_bytes() == good  # written again
    assert "compiling again" in caplog.text


def test_tables_of_another_shape_are_rebuilt(tmp_path: Path) -> None:
    """A file whose checksum holds but whose tables do not fit (another format)."""
    ps = profiles()
    fresh = findings(cached_matcher(ps, secret=None, folder=tmp_path))
    [path] = cache_files(tmp_path)
    matchercache._write(path, cache_key(ps), {"format": 999, "keys": 1})
    assert findings(cached_matcher(ps, secret=None, folder=tmp_path)) == fresh
    assert matchercache._read(path, cache_key(ps))["format"] == matcher_module.TABLES_FORMAT  # type: ignore[index]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_folder_others_may_write_to_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "guard"
    folder.mkdir()
    folder.chmod(0o777)
    m = cached_matcher(profiles(), secret=None, folder=folder)
    assert any(findings(m))
    assert cache_files(folder) == []


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_the_folder_and_file_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "guard"
    cached_matcher(profiles(), secret=None, folder=folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    [path] = cache_files(folder)
    assert path.stat().st_mode & 0o077 == 0


def test_old_configurations_are_pruned(tmp_path: Path) -> None:
    ps = profiles()
    for i in range(matchercache.KEEP + 2):
        changed = (replace(ps[0], terms=(f"Term Number {i}",)), ps[1])
        cached_matcher(changed, secret=None, folder=tmp_path)
    assert len(cache_files(tmp_path)) == matchercache.KEEP


CHILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_matcher_cache import profiles, findings, POSTS
from crosspost.guard import GuardProfile
from crosspost.matchercache import cached_matcher

go = Path({go!r})
deadline = time.monotonic() + 120
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
big = tuple(
    GuardProfile(**{{**p.__dict__, "terms": p.terms + tuple(f"filler term {{i}}" for i in range(3000))}})
    for p in profiles()
)
m = cached_matcher(big, secret=None, folder=Path({folder!r}))
print(len(findings(m)), sum(map(len, findings(m))))
"""


def test_two_processes_building_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "guard"
    go = tmp_path / "go"
    script = CHILD.format(tests=str(Path(__file__).parent), go=str(go), folder=str(folder))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    time.sleep(0.5)  # both are importing: let them start compiling together
    go.touch()
    outs = [c.communicate(timeout=300) for c in children]
    for c, (_out, err) in zip(children, outs, strict=True):
        assert c.returncode == 0, err
    assert outs[0][0] == outs[1][0]
    assert int(outs[0][0].split()[1]) > 0
    [path] = cache_files(folder)
    assert list(folder.glob("*.tmp")) == []
    # the file they left is whole and usable: a third build reads it
    big = tuple(
        replace(p, terms=p.terms + tuple(f"filler term {i}" for i in range(3000)))
        for p in profiles()
    )
    assert matchercache._read(path, cache_key(big)) is not None


def test_check_through_the_cli_writes_the_cache(ws) -> None:  # type: ignore[no-untyped-def]
    r = ws.run("check", "--text", "Coffee with Ana Bee", "--persona", "professional")
    assert r.code == 1, r.out + r.err
    assert "Ana Bee" in r.out + r.err
    assert len(cache_files(ws.root / "data" / "cache" / "guard")) == 1


def test_a_matcher_read_from_the_cache_needs_no_domain_parser(tmp_path: Path) -> None:
    """Checking a text never parses public suffixes: a command whose matcher comes from the
    cache does not import tldextract (nor requests, which it brings)."""
    folder = tmp_path / "guard"
    cached_matcher(profiles(), secret=None, folder=folder)
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from test_matcher_cache import profiles, findings
        from crosspost.matchercache import cached_matcher
        m = cached_matcher(profiles(), secret=None, folder=Path({str(folder)!r}))
        assert any(findings(m))
        print(sorted({{"tldextract", "requests"}} & set(sys.modules)))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("collector_on", [True, False])
def test_the_cycle_collector_pauses_while_the_matcher_loads(tmp_path, monkeypatch, collector_on):
    """The load makes a few hundred thousand acyclic objects: the collector is off meanwhile
    and back as it was after (also when loading fails)."""
    import gc

    from crosspost import checking

    seen: list[bool] = []
    real = matchercache.cached_matcher

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(matchercache, "cached_matcher", spy)
    checking._matcher.cache_clear()
    was = gc.isenabled()
    try:
        gc.enable() if collector_on else gc.disable()
        checking._matcher(profiles(), None, tmp_path / "cache")
        assert seen == [False]
        assert gc.isenabled() is collector_on
        broken = (replace(profiles()[0], packs=("no-such-pack",)),)
        with pytest.raises(Exception, match="no-such-pack"):
            checking._matcher(broken, None, tmp_path / "cache")
        assert gc.isenabled() is collector_on
    finally:
        gc.enable() if was else gc.disable()
        checking._matcher.cache_clear()
