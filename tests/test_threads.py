"""Splitting a long share text into the parts of a thread."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosspost.compose import _HASHTAG, _MENTION, _required_url_spans
from crosspost.textlength import fits, grapheme_boundaries
from crosspost.threads import ThreadSplitError, split_thread

THREADING = ("x", "mastodon", "bluesky")
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
FLAG = "\U0001f1e9\U0001f1ea"
URL = "https://lakeshorecounseling.com/blog/2024/05/therapy-and-social-networking/"
NUMBER = re.compile(r" (\d+)/(\d+)$")

WORDS = st.sampled_from(
    [
        "therapy",
        "a",
        "sessions",
        "Zürich",
        "naïve",
        "日本語のテキスト",
        FAMILY,
        FLAG,
        "e\u0301t\u00e9",
        "@alice",
        "@bob@example.social",
        "#MentalHealth",
        "#self_care",
        URL,
        "https://example.org/a?b=c",
        "example.com",
        "well-being",
        "x" * 40,
    ]
)
ENDS = st.sampled_from(["", "", "", ".", "!", "?", ",", ":", "…", ".\n", "\n\n"])


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.tuples(WORDS, ENDS), min_size=1, max_size=160))
    return " ".join(w + e for w, e in words).strip()


def _atoms(text: str) -> list[str]:
    """Links, mentions and hashtags: what must never be split."""
    spans = _required_url_spans(text)
    out = [text[s:e] for s, e in spans]
    for rx in (_MENTION, _HASHTAG):
        out += [
            m.group(0) for m in rx.finditer(text) if not any(s <= m.start() < e for s, e in spans)
        ]
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _unnumbered(parts: list[str]) -> list[str]:
    n = len(parts)
    out = []
    for k, p in enumerate(parts, 1):
        m = NUMBER.search(p)
        assert m is not None and (int(m.group(1)), int(m.group(2))) == (k, n), p
        out.append(p[: m.start()])
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts(), platform=st.sampled_from(THREADING), numbering=st.booleans())
def test_parts_fit_keep_the_words_and_never_split_an_atom(
    text: str, platform: str, numbering: bool
) -> None:
    parts = split_thread(text, platform, numbering=numbering)
    assert all(fits(p, platform) for p in parts)
    if len(parts) == 1:
        assert parts == [text]
        return
    bodies = _unnumbered(parts) if numbering else parts
    # nothing lost, nothing added, nothing moved
    assert _squash("".join(bodies)) == _squash(text)
    assert all(b.strip() == b and b for b in bodies)
    # every link, mention and hashtag is whole in one part
    for atom in _atoms(text):
        assert any(atom in b for b in bodies), atom
    # each cut is at a grapheme boundary of the text
    squashed_bounds = {len(_squash(text[:i])) for i in grapheme_boundaries(text)}
    pos = 0
    for b in bodies[:-1]:
        pos += len(_squash(b))
        assert pos in squashed_bounds


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sentences=st.lists(
        st.lists(
            st.sampled_from(["word", "therapy", "Zürich", "@alice", "#Tag"]),
            min_size=1,
            max_size=12,
        ),
        min_size=2,
        max_size=60,
    ),
    platform=st.sampled_from(THREADING),
)
def test_short_sentences_are_never_cut(sentences: list[list[str]], platform: str) -> None:
    sents = [" ".join(words) + "." for words in sentences]
    text = " ".join(sents)
    parts = split_thread(text, platform)
    if len(parts) == 1:
        return
    # each sentence fits in a post, so every part is whole sentences
    for p in parts:
        assert p.endswith("."), p
    assert " ".join(parts) == text


def test_without_need_the_text_is_one_part() -> None:
    assert split_thread("Short and sweet.", "x", numbering=True) == ["Short and sweet."]


def test_a_long_sentence_is_cut_between_words() -> None:
    text = " ".join(["therapy"] * 100)
    parts = split_thread(text, "x")
    assert len(parts) == 3
    assert all(set(p.split()) == {"therapy"} for p in parts)
    assert " ".join(parts) == text


def test_numbering_is_counted() -> None:
    text = " ".join(["word."] * 120)  # 719 characters
    plain = split_thread(text, "x", 100)
    numbered = split_thread(text, "x", 100, numbering=True)
    assert all(len(p) <= 100 for p in numbered)
    assert len(numbered) >= len(plain)
    assert numbered[0].endswith(f" 1/{len(numbered)}")
    assert numbered[-1].endswith(f" {len(numbered)}/{len(numbered)}")


def test_numbering_widens_to_two_digits() -> None:
    text = " ".join(["Sentence number one."] * 40)
    parts = split_thread(text, "bluesky", 40, numbering=True)
    assert len(parts) >= 10
    assert [NUMBER.search(p).groups() for p in parts] == [  # type: ignore[union-attr]
        (str(k), str(len(parts))) for k in range(1, len(parts) + 1)
    ]


def test_a_link_counts_as_the_platform_counts_it() -> None:
    # X counts every link as 23: a part holds far more link text than 280 characters
    long_url = "https://example.org/" + "a" * 300
    text = f"First sentence here. {long_url} and more words. " * 3
    parts = split_thread(text.strip(), "x")
    assert all(long_url in p for p in parts)


def test_a_link_longer_than_a_post_cannot_be_split() -> None:
    long_url = "https://example.org/" + "a" * 400
    with pytest.raises(ThreadSplitError):
        split_thread(f"See {long_url} now.", "bluesky")


def test_a_word_longer_than_a_post_is_cut_between_graphemes() -> None:
    text = FAMILY * 400  # one "word" of 400 graphemes, each many code points
    parts = split_thread(text, "bluesky")
    assert "".join(parts) == text
    assert all(fits(p, "bluesky") for p in parts)


def test_counting_of_the_server_is_used() -> None:
    # GoToSocial counts links at full length: the same text needs more parts
    link = "https://example.org/" + "p" * 80
    text = " ".join([f"Read {link} today."] * 12)
    mastodon = split_thread(text, "mastodon")
    codepoints = split_thread(text, "mastodon", counting="codepoints")
    assert len(codepoints) > len(mastodon)
    assert all(len(p) <= 500 for p in codepoints)


def test_thread_on_a_platform_without_threads_is_a_readable_error(ws) -> None:  # type: ignore[no-untyped-def]
    profile = ws.profiles / "personal.toml"
    profile.write_text(
        profile.read_text().replace(
            'path = "site-home/feed.xml"', 'path = "site-home/feed.xml"\nthread = true'
        )
    )
    r = ws.run("personas")
    assert r.code != 0
    assert "thread is a x or mastodon or bluesky setting; remove it for feed" in r.err
    assert "Traceback" not in r.err


def test_thread_settings_are_accepted_where_threads_exist(ws) -> None:  # type: ignore[no-untyped-def]
    profile = ws.profiles / "personal.toml"
    profile.write_text(
        profile.read_text().replace(
            'handle = "anabee.bsky.social"\n',
            'handle = "anabee.bsky.social"\nthread = true\nthread_numbering = true\n',
        )
    )
    account = ws.app().personas.get("personal").account("home-bsky")
    assert account.threads() and account.numbers_threads()


def test_preview_shows_every_part(ws) -> None:  # type: ignore[no-untyped-def]
    profile = ws.profiles / "personal.toml"
    profile.write_text(
        profile.read_text().replace(
            'handle = "anabee.bsky.social"\n',
            'handle = "anabee.bsky.social"\nthread = true\nthread_numbering = true\n',
        )
    )
    text = " ".join(f"Hive {n} came through the winter with a strong colony." for n in range(12))
    r = ws.run(
        "preview", "--persona", "personal", "--text", text, "--to", "home-bsky", "--format", "json"
    )
    assert r.code == 0, r.err
    [item] = r.json()["targets"]
    parts = item["parts"]
    assert [p["text"] for p in parts] == split_thread(text, "bluesky", numbering=True)
    assert len(parts) == 3 and all(p["length"] <= p["limit"] == 300 for p in parts)
    assert not item["over"]
    out = ws.run("preview", "--persona", "personal", "--text", text, "--to", "home-bsky").out
    assert "a thread of 3 posts" in out
    assert "part 3:" in out and parts[2]["text"][:40] in out


def test_preview_without_opt_in_shows_one_shortened_post(ws) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(f"Hive {n} came through the winter with a strong colony." for n in range(12))
    r = ws.run(
        "preview", "--persona", "personal", "--text", text, "--to", "home-bsky", "--format", "json"
    )
    [item] = r.json()["targets"]
    assert len(item["parts"]) == 1 and item["parts"][0]["text"] == item["text"]
    assert item["text"].endswith("…") and item["length"] <= 300
