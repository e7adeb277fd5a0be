"""The short-post fast paths of ``check_content`` report exactly what the full paths report.

``check_content`` takes shortcuts because a short post is checked in microseconds: the identity
automaton also carries the rule packs' keywords (in ``canon`` form) and every pair of single
ASCII characters (split letters), rules whose candidate keywords are gated by a ``requires``
literal the text lacks are skipped, plain ASCII text skips the general normalisation path, and
digits are counted once. Each test below runs the fast path against the full one it replaces,
on texts that do contain hits, and wants the same findings: rule, match, offsets, message, in
the same order.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosspost.guard import (
    GuardProfile,
    Matcher,
    TextField,
    build_matcher,
    check_content,
    hash_confidential,
)
from crosspost.guard._phones import _NOT_DIGITS_BYTES
from crosspost.guard._text import CANON_TABLE, NORM_TABLE, Normalised, _collapse
from crosspost.guard.matcher import _Hit, _pack_hits
from crosspost.guard.packs import PACKS, confirm_keyword_hits, pack_keyword_hits, scan_pack

from .conftest import SECRET, make_profiles
from .test_packs import _pack_corpus

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _pack_matcher() -> Matcher:
    """Both personas opt into the clinician pack, so its keywords are automaton keys."""
    profiles = [dataclasses.replace(p, packs=("clinician",)) for p in make_profiles()]
    return build_matcher(profiles, secret=SECRET)


def _full_path(m: Matcher, *, packs: bool = True, split: bool = True) -> Matcher:
    """The same matcher without the shortcut(s): pack keywords by the pack's own automaton
    pass (no gating), split letters by ``_has_split_run``."""
    return dataclasses.replace(
        m,
        _pack_keys=frozenset() if packs else m._pack_keys,
        _split_keys=False if split else m._split_keys,
        _constants={},
    )


def _findings(m: Matcher, persona: str, text: str) -> list[tuple[object, ...]]:
    fields = [TextField("body", text), TextField("title", text[:40])]
    return [dataclasses.astuple(f) for f in check_content(m, persona, fields)]


PACK_MATCHER = _pack_matcher()
FULL = _full_path(PACK_MATCHER)

EXTRA = [
    "My client, a 34-year-old teacher, said",
    "ｍｙ ｃｌｉｅｎｔ named Ｓａｒａｈ",  # fullwidth: non-ASCII norm
    "my c1ient named Sarah",  # the digit/letter fold: a canon candidate, no keyword hit
    "Our office is at 1200 Maple St. and at 5 Oak Ln, honestly",
    "office on Elm ln — l n — L N",
    "📍 Portland, OR — checked in at Harbor Coffee at 10 a.m.",
    "leave a 5-star review, a five-star rating, or a 5 - star one",
    "Today in therapy a client finally laughed; in group this morning too",
    "session with Mark; session with mark; SESSION WITH MARK",
    "a n a b e e and c l i e n t and A.N.A B.E.E at 503 555 0177",
    "Dr. Ana Reyes %41na Reyes &#65;na Bee xn--anabee.example",
    "\u200bclient\u200b named Jo, my 3pm client cried",
]


def _texts() -> list[str]:
    texts = _pack_corpus() + EXTRA
    innocent = Path(__file__).parent / "innocent_posts.txt"
    texts += [line for line in innocent.read_text("utf-8").splitlines() if line.strip()]
    return texts


def test_pack_hits_from_the_identity_scan_equal_the_pack_pass() -> None:
    """Candidates from ``canon`` + confirmation + gating give ``scan_pack``'s spans, in order."""
    m = PACK_MATCHER
    found = 0
    for text in _texts():
        n = Normalised(text)
        pack_keywords = {
            key: kws
            for _, (_, key, _, kws) in m._automaton.iter(n.canon)  # type: ignore[attr-defined]
            if kws
        }
        hits: list[_Hit] = []
        _pack_hits(m, n, ("clinician",), pack_keywords, hits)
        got = [(h.rule, h.nstart, h.nend) for h in hits]
        assert got == [(r.id, s, e) for r, s, e in scan_pack("clinician", n)], text
        found += len(got)
    assert found > 500  # the corpus does exercise the rules


def test_confirmed_keywords_are_the_pack_keywords_of_the_live_rules() -> None:
    """A rule is only left out when its scan would find nothing; the others keep every hit."""
    m = PACK_MATCHER
    rules = PACKS["clinician"]
    left_out = 0
    for text in _texts():
        n = Normalised(text)
        candidates = {  # each canon key once, as check_content collects them
            key: kws
            for _, (_, key, _, kws) in m._automaton.iter(n.canon)  # type: ignore[attr-defined]
            if kws
        }
        confirmed = confirm_keyword_hits("clinician", n, candidates.values(), {})
        full = pack_keyword_hits("clinician", n.norm)
        assert list(confirmed.items()) == [(i, h) for i, h in full.items() if i in confirmed]
        for i, kw_hits in full.items():
            if i not in confirmed:
                left_out += 1
                assert rules[i].scan(n, kw_hits) == [], (text, rules[i].id)
    assert left_out > 100  # gating does happen


def test_check_content_fast_paths_equal_full_paths_on_corpus() -> None:
    nonempty = 0
    for text in _texts():
        for persona in ("professional", "personal", "nobody"):
            fast = _findings(PACK_MATCHER, persona, text)
            assert fast == _findings(FULL, persona, text), (persona, text)
            nonempty += bool(fast)
    assert nonempty > 1000


LEAKS = [
    "Ana Bee",
    "a n a b e e",
    "A.N.A B.E.E",
    "a-n-a-b-e-e",
    "h a r b o r psychology",
    "anabee.example",
    "Dr. Ana Reyes",
    "@bee",
    "(503) 555-0142",
    "503 555 0177",
    "Jane Doe",
    "Marcus Whitfield",
    "M a r c u s Whitfield",
    "Sellwood",
    "I a n a B e e",
]
PACK_WORDS = [
    "my client",
    "a patient of mine",
    "named Sarah",
    "in session today",
    "this morning",
    "my 3pm",
    "just told me",
    "leave a review",
    "5-star",
    "is a narcissist",
    "Trump",
    "checked in at",
    "1200 Maple Street",
    "office on Elm St",
    "📍 Portland",
    "therapy",
    "practice",
    "street",
    "ln",
    "L n",
    "c1ient",
    "ｃｌｉｅｎｔ",
]
FILLER = ["the", "a", "i", "o", "x", "and", "bees", "garden", "today", "honey", "in", "é", "“so”"]
SEPARATORS = [" ", " ", "  ", "\n", ", ", ". ", " — ", "-", "\t"]


@st.composite
def posts(draw: st.DrawFn) -> str:
    pool = st.sampled_from(LEAKS + PACK_WORDS + FILLER)
    parts = draw(st.lists(pool, min_size=1, max_size=14))
    return draw(st.sampled_from(SEPARATORS)).join(parts)


@SETTINGS
@given(text=posts(), persona=st.sampled_from(["professional", "personal"]))
def test_check_content_fast_paths_equal_full_paths(text: str, persona: str) -> None:
    assert _findings(PACK_MATCHER, persona, text) == _findings(FULL, persona, text)


@SETTINGS
@given(text=posts(), persona=st.sampled_from(["professional", "personal"]))
def test_split_letters_found_by_the_automaton_equal_has_split_run(
    matcher: Matcher, text: str, persona: str
) -> None:
    assert matcher._split_keys
    full = _full_path(matcher, packs=False)
    assert _findings(matcher, persona, text) == _findings(full, persona, text)


def test_split_letters_without_any_identity_key() -> None:
    """No automaton at all (nothing to match but hashed identifiers): the slicing test runs."""
    p = GuardProfile(name="solo", confidential_hashes=(hash_confidential("Whitfield", SECRET),))
    m = build_matcher([p, GuardProfile(name="other")], secret=SECRET)
    assert m._automaton is None and not m._split_keys
    findings = check_content(m, "other", [TextField("body", "hi W h i t f i e l d and Whitfield")])
    assert [f.match for f in findings] == ["W h i t f i e l d", "Whitfield"]


ASCII = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=80)


@SETTINGS
@given(text=ASCII)
def test_plain_ascii_views_equal_the_general_definition(text: str) -> None:
    n = Normalised(text)
    if "%" in text or "&" in text or "--" in text:
        return  # decoding may apply: the general path, unchanged
    norm = text.translate(NORM_TABLE)
    assert n.norm == norm
    assert n.canon == _collapse(" " + norm.translate(CANON_TABLE) + " ")


@SETTINGS
@given(text=st.text(max_size=60) | ASCII)
def test_digits_are_the_ascii_digits_of_norm(text: str) -> None:
    n = Normalised(text)
    assert n.digits == n.norm.encode("ascii", "ignore").translate(None, _NOT_DIGITS_BYTES)


def test_text_field_is_still_a_frozen_dataclass() -> None:
    f = TextField("body", "x")
    assert dataclasses.asdict(f) == {"name": "body", "text": "x"}
    assert dataclasses.replace(f, text="y") == TextField(name="body", text="y")
    assert hash(f) == hash(TextField("body", "x"))
    try:
        f.text = "z"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("TextField is no longer frozen")


def test_persona_constants_follow_a_replaced_profile() -> None:
    """The per-persona cache is checked against the matcher's profile on every call."""
    m = _pack_matcher()
    text = "My client, a 34-year-old teacher, said hi"
    assert any(
        f.rule.startswith("clinician.")
        for f in check_content(m, "professional", [TextField("b", text)])
    )
    personas = dict(m.personas)
    personas["professional"] = dataclasses.replace(personas["professional"], packs=())
    m.personas = personas
    assert not any(
        f.rule.startswith("clinician.")
        for f in check_content(m, "professional", [TextField("b", text)])
    )


def test_random_long_texts() -> None:
    """Entries: many keyword hits, windows that are not the whole text."""
    rng = random.Random(5)
    pool = LEAKS + PACK_WORDS + FILLER * 6
    for _ in range(40):
        text = " ".join(rng.choice(pool) for _ in range(rng.randint(100, 400)))
        for persona in ("professional", "personal"):
            assert _findings(PACK_MATCHER, persona, text) == _findings(FULL, persona, text)


#: what realistic posts hold: emoji (with joiners and variation selectors), CJK and Cyrillic
#: letters, accented letters, typographic punctuation, ligatures, controls, odd spaces
SPECIALS = (
    "abcXYZ 019.,-_@#\t\n\x07\x1c\x7féÉïİıΣσςß“”—–…📚🧠✨👩\u200d⚕\ufe0f睡眠ﬁ½²①Ａｂ"
    "\u00a0\u2003\u0301\u200bÅåøØłŁ𝐀Ωωіѕ"
)


@SETTINGS
@given(text=st.text(alphabet=SPECIALS, max_size=60) | st.text(max_size=60))
def test_special_character_views_equal_the_per_character_table(text: str) -> None:
    """The ``str.replace`` path for text with special characters gives the views (and the
    offsets) of the per-character tables."""
    n = Normalised(text)
    if "%" in text or "&" in text or "--" in text:
        return  # decoding may apply: the escapes path, unchanged
    norm = text.translate(NORM_TABLE)
    assert n.norm == norm
    assert n.canon == _collapse(" " + norm.translate(CANON_TABLE) + " ")
    for i in range(len(norm)):
        start, end = n.orig_span(i, i + 1)
        assert norm[i] in text[start:end].translate(NORM_TABLE)


def test_encoded_text_test_equals_the_one_pattern() -> None:
    from crosspost.guard._text import _ENCODED, _may_be_encoded

    def reference(text: str) -> bool:
        return (
            "%" in text or "&" in text or ("--" in text and ("xn--" in text or "XN--" in text))
        ) and bool(_ENCODED.search(text))

    rng = random.Random(11)
    pieces = [
        "%",
        "%2",
        "%2F",
        "&",
        "&amp;",
        "&#12;",
        "&#x1F;",
        "xn--",
        "XN--",
        "Xn--ab",
        "-",
        "a",
        " ",
        "é",
        "9",
        "F",
        ";",
        "x",
        "n",
        "--",
    ]
    for _ in range(30_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert _may_be_encoded(text) == reference(text), text
