"""The split-letter index: keys written without spaces, looked up inside runs of letters
written one by one. It must report exactly what an Aho-Corasick automaton of those joined
keys reports (which keys, in which order), cached keys and confidential ones alike."""

from __future__ import annotations

import dataclasses
import random

import ahocorasick
from hypothesis import given, settings
from hypothesis import strategies as st

from crosspost.guard import TextField, check_content
from crosspost.guard import matcher as matcher_module
from crosspost.guard._identity import fold_token
from crosspost.guard.matcher import SPLIT_MIN, Matcher, build_matcher

from .conftest import SECRET, make_profiles


def _profiles() -> list[matcher_module.GuardProfile]:
    """A confidential name that is also a persona's name (its key is cached and gets the
    confidential identifier appended), one of its own, and an identity term that joins to
    the same letters as another ("bee hollow" / "beehollow")."""
    ps = make_profiles()
    return [
        dataclasses.replace(
            ps[0],
            confidential=("Jane Doe", "Ana Bee", "Wilhelmina Quartermaine"),
            terms=(*ps[0].terms, "beehollow apiary", "Bee Hollow"),
        ),
        ps[1],
    ]


MATCHER = build_matcher(_profiles(), secret=SECRET)


def _reference(m: Matcher) -> ahocorasick.Automaton:
    """The joined keys as an automaton, built as a matcher did before the index: every key
    in the matcher's order (the cached keys, then the confidential ones that are new), each
    with its identifiers that are not exact-only."""
    index = m._split_index
    assert index is not None and m._automaton is not None
    conf = matcher_module._Builder()
    for p in m.personas.values():
        for value in p.confidential:
            conf.add_name(value, "confidential", "term", p.name)
    cached = index.keys.split("\n")
    order = cached + [k for k in conf.keys if k not in set(cached)]
    joined: dict[str, list[tuple[str, int]]] = {}
    for key in order:
        ids = m._automaton.get(key)[2]  # type: ignore[attr-defined]
        j = key.replace(" ", "")
        if len(j) >= SPLIT_MIN:
            for i in ids:
                if m._info(i).exact is None:
                    joined.setdefault(j, []).append((key, i))
    auto = ahocorasick.Automaton()
    for j, entries in joined.items():
        auto.add_word(j, (len(j), entries))
    auto.make_automaton()
    return auto


REFERENCE = _reference(MATCHER)
JOINED = sorted(REFERENCE.keys())  # type: ignore[attr-defined]


def _hits(letters: str) -> tuple[list[object], list[object]]:
    index = MATCHER._split_index
    assert index is not None
    got = [(end, length, entries) for end, length, entries in index.hits(letters)]
    want = [(end, length, entries) for end, (length, entries) in REFERENCE.iter(letters)]
    return got, want


def test_the_fixture_has_what_the_order_depends_on() -> None:
    index = MATCHER._split_index
    assert index is not None
    # keys are folded ("l" is read as "i")
    assert fold_token("wilhelminaquartermaine") in index.extra
    assert any(cached for _, _, cached in index.extra["anabee"])
    assert len(REFERENCE.get(fold_token("beehollow"))[1]) > 1  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(JOINED), min_size=1, max_size=4),
    st.text(alphabet="abeilnorsw", max_size=6),
    st.randoms(use_true_random=False),
)
def test_the_index_reports_what_an_automaton_of_the_joined_keys_does(
    keys: list[str], filler: str, rnd: random.Random
) -> None:
    pieces = [*keys, filler]
    rnd.shuffle(pieces)
    got, want = _hits("".join(pieces))
    assert got == want
    assert want  # each drawn key is found


def test_findings_in_split_letters_are_those_of_the_key_written_whole() -> None:
    text = "met w i l h e l m i n a q u a r t e r m a i n e and a n a b e e, b e e h o l l o w"
    client = ("confidential", "w i l h e l m i n a q u a r t e r m a i n e", "professional")
    found = {
        persona: [
            (f.rule, f.match, f.owner)
            for f in check_content(MATCHER, persona, [TextField("body", text)])
        ]
        for persona in ("professional", "personal")
    }
    assert found == {
        # the personal persona's name, and a client's (confidential in every post)
        "professional": [
            client,
            ("identity", "a n a b e e", "personal"),
            ("confidential", "a n a b e e", "professional"),
        ],
        "personal": [
            client,
            ("confidential", "a n a b e e", "professional"),
            ("identity", "b e e h o l l o w", "professional"),
        ],
    }
