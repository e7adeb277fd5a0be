"""Counting as the platforms count: X (twitter-text v3), Mastodon (server rule), Bluesky.

Expected values were derived by hand from each platform's rule and cross-checked against the
reference implementations (npm twitter-text 3.1.0 for X; ``Mastodon.get_status_length`` and
the server source for Mastodon; graphemeu and the ``regex`` module's ``\\X`` for Bluesky).
Where a reference disagrees, the comment says which and why we follow the other.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import crosspost
from crosspost import textlength as tl
from crosspost.textlength import (
    LIMITS,
    bluesky_bytes,
    fits,
    graphemes,
    mastodon_length,
    mastodon_url_spans,
    text_length,
    x_url_spans,
)

DATA = Path(__file__).parent / "data" / "textlength"

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧
FAMILY4 = FAMILY + "\u200d\U0001f466"  # 👨‍👩‍👧‍👦
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"

# (text, x, mastodon, bluesky)  -- why, and where a reference implementation differs
TRICKY: list[tuple[str, int, int, int]] = [
    ("", 0, 0, 0),
    ("hello", 5, 5, 5),
    ("   ", 3, 0, 3),  # Mastodon: String#blank? text counts 0 (Mastodon.py: 3)
    ("\u3000", 2, 0, 1),  # ideographic space: weight 2 on X, blank on Mastodon
    # emoji sequences: 2 on X, one grapheme elsewhere
    (FAMILY, 2, 1, 1),
    (FAMILY4, 2, 1, 1),
    ("\U0001f44d\U0001f3fd", 2, 1, 1),  # 👍🏽 skin tone
    ("\U0001f3f3\ufe0f\u200d\U0001f308", 2, 1, 1),  # 🏳️‍🌈
    ("\U0001f1e9\U0001f1ea", 2, 1, 1),  # 🇩🇪
    ("\U0001f1e9\U0001f1ea\U0001f1eb\U0001f1f7", 4, 2, 2),  # 🇩🇪🇫🇷
    ("1\ufe0f\u20e3", 2, 1, 1),  # keycap 1️⃣
    ("#\ufe0f\u20e3", 2, 1, 1),  # keycap #️⃣
    ("1\u20e3", 2, 1, 1),  # unqualified keycap (upstream conformance case)
    (SCOTLAND, 2, 1, 1),  # tag sequence
    # Emoji 12.1/13.1 ZWJ sequences are newer than twitter-text's emoji list: counted per code
    # point on X (2 + ZWJ 1 + 2), by the Python port and by the JS reference alike.
    ("\U0001f9d1\u200d\U0001f4bb", 5, 1, 1),  # 🧑‍💻
    ("\u2764\ufe0f\u200d\U0001f525", 5, 1, 1),  # ❤️‍🔥
    # CJK / Hangul: weight 2 per code point on X
    ("日本語", 6, 3, 3),
    ("한국어", 6, 3, 3),
    ("\u1100\u1161\u11a8", 2, 1, 1),  # 각 as conjoining jamo: NFC makes one syllable on X
    # combining marks and normalisation: X counts NFC code points, the others graphemes
    ("e\u0301", 1, 1, 1),
    ("\u00e9", 1, 1, 1),
    ("e\u0301\u0301", 2, 1, 1),  # NFC gives é + U+0301
    ("Ame\u0301lie", 6, 6, 6),
    ("Am\u00e9lie", 6, 6, 6),
    ("\u0915\u094d\u0937\u093f", 4, 1, 1),  # क्षि: one cluster by rule GB9c (Unicode 15.1)
    ("Hi\n\U0001f1e9\U0001f1ea", 5, 4, 4),  # flag after a line break (Mastodon.py: 5)
    ("a\r\nb", 3, 3, 3),  # CRLF: one cluster; the Python X port counts 1 (JS reference: 2)
    ("\u00a9", 2, 1, 1),  # ©: an (unqualified) emoji in twitter-text's list (JS reference: 1)
    ("\u2122 and \u00ae", 9, 7, 7),  # ™ and ® (JS reference: 8)
    ("Caf\u00e9 \u2728 new post", 16, 15, 15),
    # URLs: 23 on X (also without scheme when the TLD is known), 23 on Mastodon only with a
    # scheme, full length on Bluesky
    ("https://example.com", 23, 23, 19),
    ("example.com", 23, 11, 11),
    ("www.example.com/path?x=1", 23, 24, 24),
    ("see example.com.", 28, 16, 16),
    ("https://example.com/path?query=1&b=2#frag", 23, 23, 41),
    ("Read https://example.com/post.", 29, 29, 30),  # trailing "." is not part of the URL
    ("(https://example.com/wiki/Foo_(bar))", 25, 25, 36),  # balanced parens stay in the URL
    ("https://m\u00fcnchen.de/stra\u00dfe", 23, 23, 25),  # IDN domain
    ("https://xn--mnchen-3ya.de/", 23, 23, 26),  # punycode domain
    # X's path stops at CJK (27 = 23 + パス); the server takes any non-space (Mastodon.py: 25)
    ("https://例え.jp/パス", 27, 23, 16),
    ("https://example.com/\u00e4?q=日本", 27, 23, 26),  # query: ASCII on X, UCHARS on Mastodon
    ("https://192.168.1.1/", 20, 20, 20),  # no TLD, no URL
    ("http://localhost:3000", 21, 21, 21),
    ("ftp://example.com/x", 19, 19, 19),
    ("gemini://example.org/x", 22, 23, 22),  # Mastodon links gemini: too (Mastodon.py: 22)
    ("https://t.co/abc?x=1", 23, 27, 20),  # t.co: the gem's rule stops at the slug
    ("Email me@example.com", 20, 20, 20),  # "@" before a domain: not a URL
    # mentions: Mastodon counts @user@domain as @user
    ("@bob@example.social", 19, 4, 19),
    ("hi https://example.com @bob@example.social", 46, 31, 42),
    ("@first.last@example.social", 26, 11, 26),  # dotted user part (Mastodon.py: 26)
    # IDN domain (Mastodon.py: 19). X: "ü" may precede a scheme-less URL, so twitter-text (JS
    # reference too) finds the URL "nchen.social": 7 + 23.
    ("@bob@m\u00fcnchen.social", 30, 4, 19),
    ("=@bob@example.social", 20, 20, 20),  # "=" before "@" is not a mention (Mastodon.py: 5)
    ("@no\u00ebl@example.com", 17, 17, 17),  # ends in a Latin accent: not a mention
    (
        "New post: https://blog.example.com/2024/05/therapy-and-social-networking/"
        " #MentalHealth #SelfCare",
        57,
        57,
        97,
    ),
    ("x" * 281, 281, 281, 281),
]


@pytest.mark.parametrize(("text", "x", "mastodon", "bluesky"), TRICKY)
def test_tricky_cases(text: str, x: int, mastodon: int, bluesky: int) -> None:
    assert text_length(text, "x") == x
    assert text_length(text, "mastodon") == mastodon
    assert text_length(text, "bluesky") == bluesky


def test_package_reexport() -> None:
    assert crosspost.text_length("hi https://example.com", "x") == 26


# --- X: upstream conformance --------------------------------------------------------------


def _conformance_cases() -> list[pytest.param]:
    doc = yaml.safe_load((DATA / "twitter_text_weighted_v3.yml").read_text(encoding="utf-8"))
    return [
        pytest.param(case["text"], case["expected"], id=f"{section}: {case['description']}")
        for section, cases in doc["tests"].items()
        for case in cases
    ]


@pytest.mark.parametrize(("text", "expected"), _conformance_cases())
def test_x_conformance(text: str, expected: dict[str, object]) -> None:
    assert text_length(text, "x") == expected["weightedLength"]
    # the whole parse result, so the fixture itself is known to be transcribed exactly
    tt = tl._twitter_text()
    assert tt.parse_tweet(text).asdict() == expected


def test_conformance_fixture_is_complete() -> None:
    cases = _conformance_cases()
    assert len(cases) == 24  # 22 WeightedTweetsWithDiscountedEmojiCounterTest + 2 directional


def test_x_url_spans() -> None:
    text = "see example.com and https://a.org/x."
    assert [text[s:e] for s, e in x_url_spans(text)] == ["example.com", "https://a.org/x"]


# --- Mastodon -------------------------------------------------------------------------------


def test_mastodon_url_chars_and_spoiler() -> None:
    text = "read https://example.com/a/long/path"
    assert mastodon_length(text) == 5 + 23
    assert mastodon_length(text, url_chars=30) == 5 + 30
    assert mastodon_length(text, 0) == 5
    # the server counts spoiler_text + text, graphemes of the joined string
    assert mastodon_length(text, spoiler_text="CW: ") == 4 + 5 + 23
    with pytest.raises(ValueError, match="url_chars"):
        mastodon_length(text, url_chars=-1)


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("a https://example.com/path. b", ["https://example.com/path"]),
        (
            "https://ja.wikipedia.org/wiki/東京_(曖昧さ回避)",
            ["https://ja.wikipedia.org/wiki/東京_"],
        ),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("ipfs://bafy.example.com x", ["ipfs://bafy.example.com"]),
        ("example.com", []),
        ("https://" + "a" * 64 + ".com", []),  # a label over 63 characters fails IDNA
        ("https://example.com/" + "p" * 5000, []),  # longer than 4096: not a link
        ("https://t.co/abc?x=1", ["https://t.co/abc"]),
    ],
)
def test_mastodon_url_spans(text: str, urls: list[str]) -> None:
    assert [text[s:e] for s, e in mastodon_url_spans(text)] == urls


# What Mastodon.get_status_length (Mastodon.py 2.3.3, the web composer's rules) returns where
# it disagrees with the server; the server's value is in TRICKY.
MASTODON_PY_DIFFERS = {
    "   ": 3,
    "\u3000": 1,
    "Hi\n\U0001f1e9\U0001f1ea": 5,
    "https://例え.jp/パス": 25,
    "https://example.com/\u00e4?q=日本": 25,
    "gemini://example.org/x": 22,
    "https://t.co/abc?x=1": 23,
    "@first.last@example.social": 26,
    "@bob@m\u00fcnchen.social": 19,
    "=@bob@example.social": 5,
}


def test_mastodon_py_cross_check() -> None:
    """On ordinary text Mastodon.py agrees with the server port; the differences are known."""
    mastodon = pytest.importorskip("mastodon")
    get = mastodon.Mastodon.get_status_length
    # a staticmethod: usable without a client, i.e. without credentials or network
    assert isinstance(inspect.getattr_static(mastodon.Mastodon, "get_status_length"), staticmethod)
    for text, _x, expected, _b in TRICKY:
        assert get(text) == MASTODON_PY_DIFFERS.get(text, expected), text
    assert get("hi https://example.com @bob@example.social") == 31
    assert get(FAMILY) == 1


# --- Bluesky --------------------------------------------------------------------------------


def test_bluesky_bytes_and_byte_cap() -> None:
    assert bluesky_bytes("") == 0
    assert bluesky_bytes("a\u00e9日\U0001f600") == 1 + 2 + 3 + 4
    assert bluesky_bytes(FAMILY4) == 4 * 4 + 3 * 3
    text = FAMILY4 * 150  # 150 graphemes, 3750 bytes
    assert text_length(text, "bluesky") == 150
    assert not fits(text, "bluesky")
    assert fits(FAMILY4 * 120, "bluesky")  # 3000 bytes exactly


# --- general API ----------------------------------------------------------------------------


def test_limits() -> None:
    # every counted platform has its limit here; a new platform adds its own
    assert LIMITS.items() >= {"x": 280, "mastodon": 500, "bluesky": 300, "threads": 500}.items()


@pytest.mark.parametrize("platform", ["X", "twitter", "myspace", ""])
def test_unknown_platform(platform: str) -> None:
    with pytest.raises(ValueError, match="'x', 'mastodon', 'bluesky'"):
        text_length("hi", platform)
    with pytest.raises(ValueError, match="unknown platform"):
        fits("hi", platform)


def test_lone_surrogates_do_not_crash() -> None:
    text = "a\ud800b"  # e.g. from bytes decoded with errors="surrogateescape"
    assert text_length(text, "x") == 4
    assert text_length(text, "mastodon") == 3
    assert text_length(text, "bluesky") == 3
    assert bluesky_bytes(text) == 5


def test_text_must_be_str() -> None:
    with pytest.raises(TypeError):
        text_length(b"hi", "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "platform", "limit", "expected"),
    [
        ("x" * 280, "x", None, True),
        ("x" * 281, "x", None, False),
        ("日" * 140, "x", None, True),
        ("日" * 141, "x", None, False),
        ("x" * 500, "mastodon", None, True),
        ("x" * 501, "mastodon", None, False),
        ("x" * 300, "bluesky", None, True),
        ("x" * 301, "bluesky", None, False),
        ("hello", "x", 5, True),
        ("hello", "x", 4, False),
        ("", "bluesky", 0, True),
    ],
)
def test_fits(text: str, platform: str, limit: int | None, expected: bool) -> None:
    assert fits(text, platform, limit) is expected


# --- code points (GoToSocial) ---------------------------------------------------------------


def test_codepoints_count_urls_and_mentions_at_full_length() -> None:
    url = "https://harborpsych.org/posts/a-rather-long-slug-about-burnout/"
    text = f"Read {url} cc @bob@other.social \U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert text_length(text, "mastodon") == 5 + 23 + 4 + 4 + 1 + 1
    assert (
        text_length(text, "mastodon", counting="codepoints")
        == len(text)
        == 5 + len(url) + 4 + 17 + 1 + 5
    )
    assert text_length(text, "mastodon", counting="mastodon") == text_length(text, "mastodon")
    assert fits("x" * 500, "mastodon", counting="codepoints")
    assert not fits("\u00e9" * 251 + "e\u0301" * 125, "mastodon", counting="codepoints")


def test_unknown_counting() -> None:
    with pytest.raises(ValueError, match="unknown counting 'graphemes' for mastodon"):
        text_length("hi", "mastodon", counting="graphemes")


# --- grapheme clusters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clusters"),
    [
        ("Hi\n\U0001f1e9\U0001f1ea", ["H", "i", "\n", "\U0001f1e9\U0001f1ea"]),
        (
            "\t\U0001f1e9\U0001f1ea\U0001f1eb\U0001f1f7",
            ["\t", "\U0001f1e9\U0001f1ea", "\U0001f1eb\U0001f1f7"],
        ),
        ("\u200b\U0001f1e9\U0001f1ea", ["\u200b", "\U0001f1e9\U0001f1ea"]),
        ("a\r\n\r\nb", ["a", "\r\n", "\r\n", "b"]),
        ("\r\r\n", ["\r", "\r\n"]),
        ("\n" + FAMILY, ["\n", FAMILY]),
        ("\u0915\u094d\u0937\u093f", ["\u0915\u094d\u0937\u093f"]),
    ],
)
def test_graphemes(text: str, clusters: list[str]) -> None:
    assert graphemes(text) == clusters


def test_control_table_matches_graphemeu() -> None:
    """Pre-splitting at controls is exact only if we never call a non-control a control."""
    pgroup = pytest.importorskip("grapheme.grapheme_property_group")
    controls = {pgroup.GraphemePropertyGroup.CONTROL, pgroup.GraphemePropertyGroup.CR}
    controls.add(pgroup.GraphemePropertyGroup.LF)
    planes = (*range(0xD800), *range(0xE000, 0x20000), *range(0xE0000, 0xE1000))
    wrong = [
        hex(cp)
        for cp in planes
        if tl._is_gcb_control(chr(cp)) and pgroup.get_group(chr(cp)) not in controls
    ]
    assert wrong == []


def test_old_grapheme_module_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("grapheme")
    fake.UNICODE_VERSION = "13.0.0"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "grapheme", fake)
    with pytest.raises(RuntimeError, match="graphemeu"):
        tl._grapheme_module.__wrapped__()


# --- imports --------------------------------------------------------------------------------


def _run(code: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(crosspost.__file__).parent.parent)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "PATH": ""},
        timeout=120,
        check=False,
    )


def test_heavy_dependencies_are_imported_lazily() -> None:
    proc = _run(
        "import sys, crosspost.textlength, crosspost.compose\n"
        "print(sorted(m for m in ('twitter_text', 'grapheme', 'mastodon') if m in sys.modules))"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_x_counts_without_pkg_resources() -> None:
    """twitter-text-parser imports pkg_resources, which setuptools >= 81 no longer ships."""
    proc = _run(
        "import sys\n"
        "sys.modules['pkg_resources'] = None  # makes 'import pkg_resources' fail\n"
        "from crosspost.textlength import text_length\n"
        "print(text_length('hi https://example.com \U0001f468\u200d\U0001f469\u200d\U0001f467', 'x'))\n"
        "print(text_length('hi https://example.com', 'mastodon'))\n"
        "print(sys.modules.get('pkg_resources', 'gone'))"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["29", "26", "None"]


# --- properties -----------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    [
        *"abcXYZ 019.,:-_/@#\n",
        "é",
        "e\u0301",
        "日",
        "한",
        FAMILY,
        "\U0001f44d\U0001f3fd",
        "\U0001f1e9\U0001f1ea",
        "\u0915\u094d\u0937",
        "\u200d",
        "\ufe0f",
        "https://ex.com/a ",
    ]
)
_TEXT = st.lists(_ALPHABET, max_size=40).map("".join)


@settings(max_examples=150, deadline=None)
@given(_TEXT)
def test_graphemes_round_trip(text: str) -> None:
    clusters = graphemes(text)
    assert "".join(clusters) == text
    assert text_length(text, "bluesky") == len(clusters)
    assert all(clusters)


@settings(max_examples=150, deadline=None)
@given(_TEXT)
def test_x_is_normalisation_invariant(text: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert text_length(nfd, "x") == text_length(unicodedata.normalize("NFC", text), "x")


@settings(max_examples=150, deadline=None)
@given(_TEXT)
def test_mastodon_without_links_or_mentions_counts_graphemes(text: str) -> None:
    text = text.replace(":", "").replace("@", "")
    expected = 0 if not text.strip() else len(graphemes(text))
    assert text_length(text, "mastodon") == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
def test_ascii_counts_as_segmentation_does(text: str) -> None:
    """ASCII is counted without segmenting it (one cluster per character, CR LF one): the
    same count graphemeu's segmentation gives, controls and CR LF pairs included."""
    assert tl._grapheme_count(text) == len(graphemes(text))
    assert tl._grapheme_count("a\r\nb\n\rc\r\r\n") == len(graphemes("a\r\nb\n\rc\r\r\n")) == 8
