"""Property tests: evasions of an identifier are still caught; innocent text is never blocked."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crosspost.guard import Matcher, TextField, check_content
from crosspost.guard._confusables import full_map

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# (identifier as written in the config, owner, the persona that must not publish it)
IDENTIFIERS = [
    ("Ana Bee", "personal", "professional"),
    ("Tomasz Bee", "personal", "professional"),
    ("Bee Family Apiary", "personal", "professional"),
    ("anabee.example", "personal", "professional"),
    ("ana.bee@gmail.com", "personal", "professional"),
    ("anabee.bsky.social", "personal", "professional"),
    ("Ana Reyes", "professional", "personal"),
    ("Dr. Ana Reyes", "professional", "personal"),
    ("Harbor Psychology", "professional", "personal"),
    ("DrAnaReyes", "professional", "personal"),
    ("harborpsych.example", "professional", "personal"),
    ("ana@harborpsych.example", "professional", "personal"),
]
# identifiers made of letters and spaces only: these may also be split letter by letter
SPLITTABLE = [i for i in IDENTIFIERS if re.fullmatch(r"[A-Za-z ]+", i[0])]

INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\ufe0f",
    "\ufe00",
    "\U000e0041",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u034f",
    "\u180e",
]
LEET = {"a": "4", "e": "3", "i": "1", "l": "1", "o": "0", "s": "5", "t": "7"}
# look-alikes for each ASCII letter that the normaliser maps back (from the TR39 data used)
CONFUSABLE: dict[str, list[str]] = {}
for _src, _dst in sorted(full_map().items()):
    if _dst.isalpha() and _src.isalpha():
        CONFUSABLE.setdefault(_dst, []).append(_src)

FILLER = ["today", "honestly", "look", "thanks", "reading", "garden", "notes", "hello"]


@st.composite
def evaded(draw: st.DrawFn, pool: list[tuple[str, str, str]], split: bool) -> tuple[str, ...]:
    ident, owner, poster = draw(st.sampled_from(pool))
    chars = list(ident)
    out = []
    for ch in chars:
        low = ch.lower()
        choice = draw(st.sampled_from(["keep", "case", "confusable", "leet"]))
        if choice == "case":
            ch = ch.swapcase()
        elif choice == "confusable" and CONFUSABLE.get(low):
            ch = draw(st.sampled_from(CONFUSABLE[low]))
        elif choice == "leet" and low in LEET and not split:
            ch = LEET[low]
        out.append(ch)
    if split:
        sep = draw(st.sampled_from([" ", ".", "-", "_", " . ", "  "]))
        letters = [c for c in out if c != " "]
        out = [sep.join(letters)]
    text = "".join(out)
    # sprinkle invisible characters between characters
    positions = draw(st.lists(st.integers(0, len(text)), max_size=4))
    for pos in sorted(positions, reverse=True):
        text = text[:pos] + draw(st.sampled_from(INVISIBLE)) + text[pos:]
    before = draw(st.sampled_from(FILLER))
    after = draw(st.sampled_from(FILLER))
    return f"{before.capitalize()} {text} {after}.", text, owner, poster


def _assert_caught(matcher: Matcher, sample: tuple[str, ...]) -> None:
    sentence, evaded_text, owner, poster = sample
    findings = check_content(matcher, poster, [TextField("body", sentence)])
    for f in findings:
        assert sentence[f.start : f.end] == f.match
    hits = [f for f in findings if f.rule == "identity" and f.owner == owner]
    assert hits, f"missed {evaded_text!r} in {sentence!r}"
    assert any(f.blocks for f in hits)


@SETTINGS
@given(sample=evaded(IDENTIFIERS, split=False))
def test_identity_survives_case_confusables_leet_and_invisibles(
    matcher: Matcher, sample: tuple[str, ...]
) -> None:
    _assert_caught(matcher, sample)


@SETTINGS
@given(sample=evaded(SPLITTABLE, split=True))
def test_identity_survives_split_letters(matcher: Matcher, sample: tuple[str, ...]) -> None:
    _assert_caught(matcher, sample)


# -------------------------------------------------------------------------- innocent text

WORDS = [
    "ana",
    "bee",
    "bees",
    "beekeeper",
    "beekeeping",
    "honey",
    "honeybee",
    "hive",
    "reyes",
    "harbor",
    "harbour",
    "psychology",
    "psych",
    "social",
    "gmail",
    "com",
    "example",
    "tomasz",
    "dr",
    "doctor",
    "the",
    "a",
    "i",
    "and",
    "of",
    "to",
    "in",
    "is",
    "was",
    "my",
    "our",
    "at",
    "dot",
    "www",
    "blog",
    "rick",
    "spelling",
    "sting",
    "wax",
    "queen",
    "garden",
    "office",
    "morning",
    "therapy",
    "anxiety",
    "sleep",
    "notes",
    "river",
    "season",
    "family",
    "apiary",
    "swarm",
    "mail",
    "phone",
    "call",
    "text",
    "bluesky",
    "mastodon",
    "instance",
    "reading",
    "beehive",
    "anabees",
    "reyesville",
    "harborside",
    "psychologist",
    "seals",
    "boat",
    "coffee",
    "walk",
    "friends",
]
FORBIDDEN = [
    ("ana", "bee"),
    ("ana", "reyes"),
    ("dr", "reyes"),
    ("doctor", "reyes"),
    ("harbor", "psychology"),
    ("tomasz", "bee"),
    ("bee", "family", "apiary"),
    ("ana", "dot", "bee"),
]
JOINERS = [" ", " ", " ", ", ", ". ", " - ", "/", "\n", " (", ") "]
NUMBERS = [
    "988",
    "911",
    "112",
    "999",
    "116 123",
    "1-800-273-8255",
    "2024",
    "10:30",
    "42",
    "555-0100",
    "3 pm",
    "(503) 555-0100",
]


def _contains_forbidden(words: list[str]) -> bool:
    toks = [w.lower() for w in words]
    for seq in FORBIDDEN:
        n = len(seq)
        if any(tuple(toks[i : i + n]) == seq for i in range(len(toks) - n + 1)):
            return True
    return False


#: the ways people write the names of the personas above that the guard rightly blocks, and
#: that random words with random punctuation can form: surname first ("Reyes, Ana", "Bee Ana"),
#: citations ("Reyes, A"), initials ("A. Bee")
NAME_FORMS = re.compile(
    r"\b(?:reyes|bee)(?:\s*,\s*|\s+)(?:ana|tomasz)\b"
    r"|\b(?:reyes|bee)\s*,\s*[at]\b"
    r"|\b[at]\.\s*(?:[a-z]\.\s*)*(?:reyes|bee)\b",
    re.IGNORECASE,
)


@st.composite
def innocent(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=25))
    assume(not _contains_forbidden(words))
    parts = []
    for w in words:
        style = draw(st.sampled_from(["lower", "title", "upper"]))
        parts.append(w.title() if style == "title" else w.upper() if style == "upper" else w)
        parts.append(draw(st.sampled_from(JOINERS)))
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(NUMBERS)))
    text = "".join(parts)
    assume(not NAME_FORMS.search(text))
    return text


@SETTINGS
@given(text=innocent(), poster=st.sampled_from(["professional", "personal"]))
def test_innocent_sentences_are_not_blocked(matcher: Matcher, text: str, poster: str) -> None:
    findings = check_content(matcher, poster, [TextField("body", text)])
    blocking = [f for f in findings if f.blocks]
    assert not blocking, f"{text!r}: {blocking}"
