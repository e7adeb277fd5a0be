"""Share text: rendering templates and fitting them into each platform's limit."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosspost.compose import (
    ELLIPSIS,
    ShareInput,
    compose_share,
    fit,
    hashtag,
    render_share,
)
from crosspost.textlength import PLATFORMS, fits, graphemes, text_length

URL = "https://lakeshorecounseling.com/blog/2024/05/therapy-and-social-networking/"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
FLAG = "\U0001f1e9\U0001f1ea"


def share(**kw: object) -> ShareInput:
    base: dict[str, object] = {"title": "Title", "url": URL, "summary": None}
    base.update(kw)
    return ShareInput(**base)  # type: ignore[arg-type]


# --- hashtags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("mental health", "#MentalHealth"),
        ("#mental_health", "#mental_health"),
        ("mental_health", "#mental_health"),
        ("self-care", "#SelfCare"),
        ("Self Care!", "#SelfCare"),
        ("COVID-19", "#COVID19"),
        ("iOS dev", "#iOSDev"),  # a word's own casing is kept
        ("über uns", "#ÜberUns"),
        ("日本 旅行", "#日本旅行"),
        ("हिन्दी", "#हिन्दी"),  # marks are part of the tag
        ("C++", "#C"),
        ("＃全角", "#全角"),
        ("2024", None),  # no letter: not a hashtag on X or Mastodon
        ("", None),
        ("   ", None),
        ("#", None),
        ("!!!", None),
    ],
)
def test_hashtag(tag: str, expected: str | None) -> None:
    assert hashtag(tag) == expected


# --- render_share ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "data", "expected"),
    [
        (
            "New on the blog: {title} {url}",
            share(),
            f"New on the blog: Title {URL}",
        ),
        (
            "{title} {url} {tags}",
            share(tags=("mental health", "#self_care", "Mental Health", "2024")),
            f"Title {URL} #MentalHealth #self_care",  # de-duplicated, invalid dropped
        ),
        ("{title} {url} {tags}", share(), f"Title {URL}"),  # no trailing space
        ("{title}\n\n{summary}\n\n{url}", share(), f"Title\n\n{URL}"),  # no pile of newlines
        ("{title}\n\n{summary}\n\n{url}", share(summary="  "), f"Title\n\n{URL}"),
        ("{title} — {summary} {url}", share(), f"Title {URL}"),  # dangling separator goes
        ("{summary} | {title}\n{url}", share(), f"Title\n{URL}"),
        ("{title}: {summary}\n{url}", share(), f"Title\n{URL}"),  # "Title:" at a line end
        ("New on the blog: {title} {url}", share(title=None), f"New on the blog: {URL}"),
        ("{title} {url}", share(url=None), "Title"),
        ("{title}{summary}{body}", share(title=None, url=None), ""),
        ("{title}\r\n{url}", share(), f"Title\n{URL}"),  # line endings normalised
        ("{title} {url}", share(title="  Two\n  lines  "), f"Two lines {URL}"),  # one-line title
        ("{body}", share(body="Para one.\r\n\r\nPara two.\n"), "Para one.\n\nPara two."),
        ("{{literal}} {title}", share(), "{literal} Title"),
    ],
)
def test_render_share(template: str, data: ShareInput, expected: str) -> None:
    assert render_share(template, data) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{titel} {url}", r"unknown placeholder \{titel\}.*\{title\}, \{url\}, \{summary\}"),
        ("{} {url}", r"unknown placeholder \{\}"),
        ("{0}", r"unknown placeholder \{0\}"),
        ("{title!r}", r"takes no conversion or format spec"),
        ("{title:>20}", r"takes no conversion or format spec"),
        ("{title", r"malformed"),
        ("title}", r"malformed"),
    ],
)
def test_render_share_rejects_bad_templates(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_share(template, share())


def test_share_input_types() -> None:
    with pytest.raises(TypeError, match="single string"):
        ShareInput(title="t", url=None, summary=None, tags="therapy")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="title"):
        ShareInput(title=3, url=None, summary=None)  # type: ignore[arg-type]
    assert ShareInput("t", None, None, ["a", "b"]).tags == ("a", "b")  # type: ignore[arg-type]


# --- fit ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "platform", "limit", "expected"),
    [
        # fits already: unchanged
        ("Short and sweet", "x", None, "Short and sweet"),
        # hashtags go first, from the end
        ("Hello world #one #two #three", "bluesky", 20, "Hello world #one"),
        ("Hello world #one #two #three", "bluesky", 26, "Hello world #one #two"),
        (f"Hello world #one #two {URL}", "x", 40, f"Hello world #one {URL}"),
        ("Tags #a #b\nmore text here", "bluesky", 19, "Tags\nmore text here"),
        # a hashtag inside a sentence is a word: cut with the others, not removed from it
        ("I love #python and tea, every day", "bluesky", 27, "I love #python and tea…"),
        # then words, at a word boundary, with dangling punctuation removed
        ("The quick brown fox, jumps over", "bluesky", 21, "The quick brown fox…"),
        ("Title: a subtitle that is long", "bluesky", 8, "Title…"),
        # the link survives whole, after the cut, keeping its line break
        (f"A long title here\n\n{URL}", "x", 35, f"A long…\n\n{URL}"),
        (f"A long title here {URL} and more", "x", 38, f"A long title… {URL}"),  # "…" weighs 2
        # cut after the link: text before it stays in place
        (
            "Read https://example.com/a first, then the rest",
            "mastodon",
            41,
            "Read https://example.com/a first, then…",
        ),
        (
            "Read https://example.com/a first, then the rest",
            "mastodon",
            40,
            "Read https://example.com/a first…",
        ),
        # a "…" is never glued to a link (Mastodon would read it as part of the path)
        (
            "Read https://example.com/a, more text here",
            "mastodon",
            33,
            "Read… https://example.com/a",
        ),
        # mentions are never cut
        (
            "Thanks @someone@example.social for everything",
            "bluesky",
            38,
            "Thanks @someone@example.social for…",
        ),
        ("Thanks @someone@example.social for everything", "bluesky", 30, "Thanks…"),
        # CJK has no spaces: break between ideographs
        (
            "日本語のタイトルはとても長いです https://example.com/x",
            "x",
            40,
            "日本語のタイト… https://example.com/x",
        ),
        # one long word: cut inside it, at a grapheme boundary
        (
            "Supercalifragilisticexpialidocious https://example.com",
            "mastodon",
            30,
            "Super… https://example.com",
        ),
        (FAMILY * 4, "bluesky", 3, FAMILY * 2 + ELLIPSIS),
        (FLAG * 5, "x", 7, FLAG * 2 + ELLIPSIS),  # X: flag 2, "…" 2
        ("x" * 50, "x", 10, "x" * 8 + ELLIPSIS),
        # nothing fits and no link: empty
        ("Hello", "x", 0, ""),
    ],
)
def test_fit(text: str, platform: str, limit: int | None, expected: str) -> None:
    out = fit(text, platform, limit)
    assert out == expected
    assert fits(out, platform, limit)


def test_fit_link_alone_too_long() -> None:
    long_url = "https://example.com/" + "a" * 300
    with pytest.raises(ValueError, match=r"the link alone takes 320 characters on bluesky"):
        fit(f"Title {long_url}", "bluesky")
    # on X every link is 23, so the same text fits once the title is cut
    assert fit(f"Title {long_url}", "x", 25) == long_url


def test_fit_normalises_line_endings_only_when_needed() -> None:
    assert fit("a\r\nb", "x") == "a\r\nb"
    assert fit("a\r\nb c d", "bluesky", 4) == "a\nb…"


def test_fit_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="'x', 'mastodon', 'bluesky'"):
        fit("hi", "myspace")
    with pytest.raises(ValueError, match="'x', 'mastodon', 'bluesky'"):
        compose_share("{title}", share(), "myspace")
    with pytest.raises(ValueError, match="non-negative"):
        fit("hi", "x", -1)
    with pytest.raises(TypeError):
        fit(None, "x")  # type: ignore[arg-type]


# --- compose_share --------------------------------------------------------------------------

LONG = share(
    title="Therapy and social networking: keeping professional and personal lives apart",
    summary=(
        "Why I keep two separate online presences, what the ethics codes say, and practical"
        " steps for clinicians who want to share their work without exposing their lives."
    ),
    tags=("mental health", "self care", "ethics"),
)


def test_compose_fits_unchanged() -> None:
    assert compose_share("{title} {url} {tags}", LONG, "mastodon") == render_share(
        "{title} {url} {tags}", LONG
    )


def test_compose_drops_tags_from_the_end_first() -> None:
    template = "{title} {url} {tags}"
    full = text_length(render_share(template, LONG), "x")
    out = compose_share(template, LONG, "x", full - 1)
    assert out.endswith(f"{URL} #MentalHealth #SelfCare")
    out = compose_share(template, LONG, "x", full - len(" #Ethics #SelfCare"))
    assert out == f"{LONG.title} {URL} #MentalHealth"


def test_compose_then_summary_then_title() -> None:
    template = "{title}\n\n{summary}\n\n{url}\n\n{tags}"
    out = compose_share(template, LONG, "bluesky")
    title, summary, url = out.split("\n\n")
    assert title == LONG.title  # untouched
    assert summary.endswith(ELLIPSIS) and LONG.summary.startswith(summary[:-1])  # type: ignore[union-attr]
    assert url == URL  # tags gone, link whole
    assert fits(out, "bluesky")

    out = compose_share(template, LONG, "bluesky", 110)  # no room for a summary at all
    assert out == f"Therapy and social networking…\n\n{URL}"


def test_compose_body_goes_before_summary() -> None:
    data = share(summary="A short summary.", body="word " * 200)
    out = compose_share("{summary} {body} {url}", data, "x")
    assert out.startswith("A short summary. word word")
    assert out.endswith(f"word… {URL}")


def test_compose_long_template_text_is_cut_by_fit() -> None:
    template = "Read the newest article on our practice blog, written for clinicians: {url}"
    out = compose_share(template, share(), "bluesky", 100)
    assert out.endswith(URL) and fits(out, "bluesky", 100)


def test_compose_url_never_shortened() -> None:
    data = share(url="https://example.com/" + "a" * 290)
    with pytest.raises(ValueError, match="link alone"):
        compose_share("{title} {url}", data, "bluesky")
    assert compose_share("{title} {url}", data, "x") == f"Title {data.url}"


def test_compose_default_template_per_platform() -> None:
    for platform in PLATFORMS:
        out = compose_share("New on the blog: {title} {url} {tags}", LONG, platform, 120)
        assert URL in out and fits(out, platform, 120)


# --- properties -----------------------------------------------------------------------------

# Whole clusters only; none is a prefix of another, so a cut inside one shows up as a cluster
# that was never generated (a lone 👨, a lone regional indicator, a bare "q").
CLUSTERS = [
    *"abcdefghijklmnoprstuvwyz",
    "É",
    "q\u0307",
    "日",
    "本",
    "한",
    FAMILY,
    "\U0001f44d\U0001f3fd",
    FLAG,
    "1\ufe0f\u20e3",
    "\u0915\u094d\u0937",
]
WORD = st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=12).map("".join)
PUNCT = st.sampled_from(["", "", "", ",", ".", ":", "!", " —"])
PROSE = st.lists(st.tuples(WORD, PUNCT).map("".join), min_size=0, max_size=25).map(" ".join)
TAG = st.lists(st.sampled_from([*"abcdefgh", "日", "É"]), min_size=1, max_size=10).map("".join)
TEMPLATES = st.sampled_from(
    [
        "{title} {url} {tags}",
        "New on the blog: {title} {url}",
        "{title}\n\n{summary}\n\n{url}\n\n{tags}",
        "{title} — {summary} {url} {tags}",
        "{tags} {title}: {summary} {url}",
    ]
)
ALLOWED = set(CLUSTERS) | {ELLIPSIS, " ", "\n", ",", ".", ":", "!", "—", "#"}
_HASHTAGS = re.compile(r"#[^\s#…]+")


def _check_result(out: str, data: ShareInput, platform: str, limit: int) -> None:
    assert fits(out, platform, limit)
    # the URL is there, whole, as its own token
    assert re.search(rf"(?:^|\s){re.escape(URL)}(?:\s|$)", out)
    # no broken clusters: everything outside the link is a generated cluster
    rest = out.replace(URL, " ")
    for tag in data.tags:
        rest = rest.replace(tag, " ")
    assert set(graphemes(rest)) <= ALLOWED | set("New on the blog"), out
    # hashtags are whole
    for tag in _HASHTAGS.findall(out):
        assert tag.rstrip(".,:!") in {hashtag(t) for t in data.tags}, out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    template=TEMPLATES,
    title=PROSE,
    summary=PROSE,
    tags=st.lists(TAG, max_size=6),
    platform=st.sampled_from(PLATFORMS),
    slack=st.integers(min_value=0, max_value=160),
)
def test_compose_properties(
    template: str, title: str, summary: str, tags: list[str], platform: str, slack: int
) -> None:
    data = share(title=title, summary=summary, tags=tuple(tags))
    minimal = render_share(template, share(title=None, summary=None))
    limit = text_length(minimal, platform) + slack
    out = compose_share(template, data, platform, limit)
    _check_result(out, data, platform, limit)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(
        st.one_of(
            WORD,
            st.just(URL),
            TAG.map(lambda t: "#" + t),
            st.just("@someone@example.social"),
        ),
        min_size=1,
        max_size=30,
    ),
    platform=st.sampled_from(PLATFORMS),
    limit=st.integers(min_value=0, max_value=300),
)
def test_fit_properties(words: list[str], platform: str, limit: int) -> None:
    text = " ".join(words)
    n_urls = words.count(URL)
    try:
        out = fit(text, platform, limit)
    except ValueError as exc:
        assert n_urls and "link" in str(exc)
        links = "\n".join([URL] * n_urls)
        assert not fits(links.replace("\n", " "), platform, limit)
        return
    assert fits(out, platform, limit)
    assert out.count(URL) == n_urls  # every link kept, whole
    tags_in = {w for w in words if w.startswith("#")}
    for tag in _HASHTAGS.findall(out):
        assert tag in tags_in, (tag, out)  # never a piece of a hashtag
    for mention in re.findall(r"@\S+", out.replace(URL, " ")):
        assert mention.rstrip(ELLIPSIS) == "@someone@example.social", out
    # the kept prose is made of the original words in order; only the last may be cut, and
    # then at a grapheme boundary
    kept = out.replace(URL, " ").replace(ELLIPSIS, " ").split()
    originals = [w for w in words if w != URL]
    assert len(kept) <= len(originals)
    pos = 0
    for i, word in enumerate(kept):
        while (
            pos < len(originals)
            and originals[pos] != word
            and (i < len(kept) - 1 or not _grapheme_prefix(word, originals[pos]))
        ):
            pos += 1  # skipped: a dropped hashtag
        assert pos < len(originals), (kept, originals)
        pos += 1


def _grapheme_prefix(part: str, word: str) -> bool:
    """``part`` (less dangling punctuation) is ``word`` cut at a grapheme boundary."""
    acc = ""
    for g in graphemes(word):
        if acc == part or acc.rstrip(".,:!—") == part:
            return True
        acc += g
    return acc == part


# --- code point counting (GoToSocial) -------------------------------------------------------


def test_codepoint_counting_keeps_the_long_url_whole_and_counts_it_in_full() -> None:
    url = "https://lakeshorecounseling.com/blog/2024/05/" + "therapy-and-social-networking-" * 4
    body = "Therapists can take part in social networks without losing the frame. " * 12
    data = share(title="Therapy and Social Networking", url=url, body=body)
    template = "{title}\n\n{body}\n\n{url}"
    for_mastodon = compose_share(template, data, "mastodon", 500)
    for_gts = compose_share(template, data, "mastodon", 500, counting="codepoints")
    assert text_length(for_mastodon, "mastodon") <= 500 < len(for_mastodon)
    assert len(for_gts) <= 500
    assert for_gts.endswith("\n\n" + url)  # the URL whole, counted at its full length
    assert len(for_gts) > 500 - len(url) - 25  # and little room lost beyond it
    assert fit(body + url, "mastodon", 300, counting="codepoints").endswith(url)
    assert len(fit(body + " " + url, "mastodon", 300, counting="codepoints")) <= 300
