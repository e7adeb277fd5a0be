"""Does a clinical label in a post diagnose a specific person? (``clinician.diagnosis``)

A diagnosis, for this rule, is three things in one clause: a **reference to one specific
person** — a name ("Farage", "Prince Harry"), a relation or role with a definite determiner
("my ex", "her new boyfriend", "the guy next door", "that Tory MP", "Megan's boyfriend"), or
*he*/*she* — then an **attribution** — a copula or a verb of having or showing ("is", "'s",
"was", "seems", "sounds like", "has", "'s got", "suffers from", "screams", "shows signs of", a
colon or "=" in "Andrew Tate: textbook ASPD") — then a **label** from the lexicon
(:data:`LABEL`). "Classic narcissistic traits from Elon Musk" and "red flags of narcissism all
over my daughter's new boyfriend" put the person after the label; "I'd diagnose Boris with…"
says it outright.

What the regulator objects to is an opinion about someone the clinician has not assessed, so
the labels come in two kinds:

* **pejorative labels** (narcissist, psychopath, sociopath, borderline, NPD, paranoid,
  delusional, senile…) are hardly ever a fact someone shared: about any specific person
  they are a diagnosis ("my dad was a narcissist", "my landlord is delusional");
* **conditions** people disclose (autistic, ADHD, OCD, PTSD, bipolar, depressed, dementia…)
  stated plainly about one's son, colleague or "she" are usually that person's own disclosure
  ("my son is autistic", "she has OCD"), so they count only with a sign of the writer's own
  judgement — a hedge or intensifier ("clearly", "100%", "textbook", "undiagnosed", "so OCD",
  "I'd put money on it") or an appearance verb ("looks depressed", "seems manic") — or about a
  named person, where the writer has no business asserting it either way.

A capitalised word opening the sentence is a name only when it is no ordinary English word
("Farage is…"); one that is ("Trump is…", but also "Work is manic", "Christmas was…" is
listed) needs that judgement for any label, and so does a lowercase word no dictionary knows
("elon is a narcissist") for a condition.

Not a diagnosis: the writer ("I'm autistic", "we're delusional if…"), "you", indefinite and
generic people ("a narcissist is…", "people with BPD", "every psychopath in a film"), a frame
that makes it hypothetical ("if your partner is a narcissist", "signs your boss is…",
"whether the Prime Minister is…"), a denial ("Biden's stutter is not dementia"), a reported
disclosure ("has spoken openly about living with PTSD", "diagnosed with…"), a label that
describes another noun ("supporting autistic pupils", "her bipolar diagnosis"), fiction ("the
whole premise of the show", "is written as a narcissist"), a title written in capitals ("The
Psychopath Test"), and animals and things ("our cat is definitely a psychopath").

All of it runs only where a label keyword occurs (the pack's keyword automaton), and works on
the one sentence around it.
"""

from __future__ import annotations

import re

from .._disclosure import sentence
from .._text import Normalised
from .._words import is_common


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- the lexicon ----------------------------------------------------------------------------

#: Labels, each alternative starting with one of :data:`KEYWORDS` (the pattern is tried at the
#: keyword hits only). Kind: see :data:`_CONDITIONS`.
LABEL = (
    r"\b(?:narc(?:is+\w*|s)?|psychopath\w*|sociopath\w*|sadist\w*|bipolar|schizo\w*|"
    r"borderline|autis\w*|spectrum|paranoi\w*|delusional|histrionic|manic|psychotic|"
    r"psychosis|depressed|demen(?:tia|ted)|senile|npd|bpd|aspd|adhd|ocd|c?ptsd|"
    r"anorexi\w*|bulimi\w*|personality\s+disorder(?!s)|antisocial\s+personality|"
    r"mentally\s+(?:ill|unwell|unstable)|asperger\w*)\b"
)
KEYWORDS = (
    "narc*",
    "psychopath*",
    "sociopath*",
    "sadist*",
    "bipolar",
    "schizo*",
    "borderline",
    "autis*",
    "spectrum",
    "paranoi*",
    "delusional",
    "histrionic",
    "manic",
    "psychotic",
    "psychosis",
    "depressed",
    "demen*",
    "senile",
    "npd",
    "bpd",
    "aspd",
    "adhd",
    "ocd",
    "ptsd",
    "cptsd",
    "anorexi*",
    "bulimi*",
    "personality",
    "antisocial",
    "mentally",
    "asperger*",
)
#: Conditions people disclose about themselves (first word of the label, or its prefix):
#: stated plainly about someone they are not the writer's judgement.
_CONDITIONS = (
    "autis",
    "spectrum",
    "adhd",
    "ocd",
    "ptsd",
    "cptsd",
    "bipolar",
    "depressed",
    "dementia",
    "anorexi",
    "bulimi",
    "asperger",
    "manic",
)

# -- the attribution ------------------------------------------------------------------------

#: A copula or verb of having/showing between the person and the label. "'s" is a copula only
#: before an article, an adverb or "got" ("he's a", "Sunak's got"), not a possessive.
_ATTR = re.compile(
    r"(?:\b(?:is|was|seems|seemed|sounds|sounded|looks|looked|acts|acted|has|had|got|"
    r"suffers\s+from|suffered\s+from|suffering\s+from|comes\s+across\s+as|came\s+across\s+as|screams|"
    r"reeks\s+of|shows|showed|displays)\b"
    r"|'s(?=\s+(?:a|an|so|such|got|been|clearly|obviously|definitely|def|probably|totally|"
    r"textbook|classic|100%|completely|literally|basically|just|really|always|full|proper|"
    r"raging|on|the|absolutely|certainly|surely)\b|\s*$)"
    r"|\s[:=\-\u2013\u2014]|:|,(?=\s+(?:a|an)\s))"
)
#: Words between the attribution and the label that change what the label is about: a
#: denial, a reported disclosure, a possessive ("his dementia"), a subordinate clause.
_GAP_BLOCKERS = _set(
    """
    not never no nor n't about his her their its my our your diagnosed written portrayed
    played plays playing called calling accused accusing if whether that who which
    because than without afraid scared worried openly publicly said says told talked
    spoken spoke admitted shared disclosed announced revealed living at for married
    raising
    """
)
#: A label followed by one of these describes that noun, not the person.
_MODIFIED_NOUNS = _set(
    """
    pupils kids children patients clients people adults students teens teenagers boys
    girls men women thoughts grades grade call pixie episode episodes experiences
    diagnosis diagnoses symptoms awareness care research training month week day
    services ward unit team nurse nurses assessment illness disorders condition label
    labels spectrum test specialist specialists expert experts researcher researchers
    coach clinic service presentations presentation pop literature inclusion
    """
)
#: What may follow "borderline" used of a person ("she's borderline and…"), as opposed to
#: the adjective of degree ("a borderline call", "borderline illegal").
_AFTER_BORDERLINE = _set("personality pd traits tendencies and or but af tbh lol imo too i she he")
_PARANOID_ABOUT = re.compile(r"\s*(?:about|that|of)\b")

# -- the person -----------------------------------------------------------------------------

#: Singular nouns of a specific person in "my/the/that …" (relations, roles, people).
PERSON_NOUNS = _set(
    """
    ex bf gf boyfriend girlfriend husband wife partner spouse fiance fiancee hubby
    mother mom mum mam mommy mummy father dad daddy son daughter brother sister sibling
    stepdad stepmum stepmom stepmother stepfather stepson stepdaughter aunt auntie uncle
    cousin niece nephew grandma grandmother gran granny nan nana grandad granddad
    grandpa grandfather mil fil sil bil friend bestie mate flatmate roommate housemate
    neighbour neighbor landlord landlady coworker co-worker colleague boss manager
    supervisor lead head headteacher headmaster headmistress principal teacher coach
    tutor lecturer professor ceo cfo cto founder owner chairman director mp senator
    governor president politician minister pm chancellor mayor councillor judge vicar
    priest pastor rabbi imam influencer streamer youtuber tiktoker podcaster celebrity
    actor actress singer rapper presenter host candidate leader king queen prince
    princess guy bloke man woman lady girl dude chap fella lad gent gentleman person
    dude guy fellow referee ref umpire kid child boy teen teenager student pupil baby
    toddler youngster
    """
)
#: What may stand between the person and the attribution: "Biden is obviously suffering
#: from…", "she has always had…".
_AUXILIARIES = _set(", - is was has had been be always")
#: Relations that name one person without a determiner ("Dad was…", "Mum is…").
_BARE_RELATIONS = _set("mum mom mam dad mother father nan gran granny grandad grandpa grandma")
#: Determiners of a definite, specific person ("[\w-]+'s" possessives too).
_DETS = _set("my our your his her their the this that ur")
_INDEFINITE = _set("a an any every each no some another one many most all")
_SELF = _set("i i'm im me we we're us myself ourselves")
_PRONOUNS = _set("he she")
#: Capitalised words before an attribution that are not a person's name.
_NOT_NAMES = _set(
    """
    a an the this that these those it it's there here who which what everyone everybody
    anyone anybody someone somebody nobody nothing everything something people person
    one each every no any some being if when honestly clearly obviously maybe perhaps
    tbh imo apparently sometimes today tonight yesterday tomorrow yes so and but or also
    still just christmas easter xmas work life weekend week monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august
    september october november december school uni home society twitter x facebook
    instagram tiktok reddit lol lmao ngl tbf idk smh omg imho fwiw btw
    """
)
_FICTION = re.compile(
    r"\b(?:film|films|movie|movies|novel|sitcom|episode|character|characters|fictional|"
    r"villain|villains|premise|plot|cartoon|the\s+show|this\s+show|tv\s+show|the\s+series|"
    r"netflix\s+series|written\s+as|played\s+by|portray\w*)\b"
)
#: The writer's own judgement (hedges, intensifiers): what makes a condition a diagnosis.
_JUDGEMENT = re.compile(
    r"(?<!\w)(?:clearly|obviously|obvious|definitely|def|defo|surely|certainly|100%|textbook|"
    r"classic|undiagnosed|untreated|probably|prob|must|bet|money|screams|written\s+all\s+over|"
    r"signs?\s+of|red\s+flags?|reckon|guarantee|calling\s+it|sure|no\s+doubt|diagnos\w*|"
    r"traits|seems?|seemed|looks?|looked|sounds?|sounded|acts|acted|comes\s+across)(?!\w)"
)
#: Prepositions that make the label their object ("an expert on psychopathy", "brilliant
#: with BPD presentations", "training as a psychosis specialist"); "of" and "like" do not
#: ("the flat affect of a sociopath", "sounds like a narcissist"), nor "on the spectrum".
_ON_THE = re.compile(r"\bon\s+the\s+(?:autism\s+|autistic\s+)?$")
_PREPOSITIONS = _set("on with as in into from by to towards against between after before over")
#: Names of a disorder, not of a person ("psychopathy", "narcissism"): predicated only by
#: having or showing it ("has all the red flags of narcissism", "a textbook case of autism").
_DISORDER_NOUN = re.compile(
    r"(?:narcissism|psychopathy|sociopathy|sadism|autism|paranoia|schizophrenia|psychosis|"
    r"dementia|anorexia|bulimia|depression)\b"
)
_HAVING = re.compile(
    r"\b(?:has|had|got|suffers|suffered|suffering|shows|showed|screams|displays|reeks|case\s+of|"
    r"signs\s+of|flags\s+of|symptoms\s+of|traits\s+of)\b"
)


def _object_of_preposition(words: list[str], label: str) -> bool:
    if label == "spectrum":  # "is on the (autism) spectrum"
        words = words[: words.index("on")] if "on" in words else words
    return any(w in _PREPOSITIONS for w in words)


#: Intensifiers: the writer's judgement only right before the label ("so OCD", "mega OCD"),
#: not "has taught me so much".
_INTENSIFIER = re.compile(
    r"(?<!\w)(?:so+|mega|such|totally|completely|absolutely|proper|full[\s\-]*blown|raging|"
    r"super|very|extremely|severely|massively|hugely)(?!\w)"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:if|when|whenever|whether|unless|imagine|suppose|supposing|signs?|how\s+to|"
    r"how\s+do|how\s+can|ways?\s+to|every|any|each|no|not\s+every|asking)\b"
)
_NEGATION = re.compile(r"(?:n't|\bnot\b|\bnever\b|\bno\b)")
_TOKEN = re.compile(r"[\w'\-%]+|[^\w\s]")
_WORD = re.compile(r"[\w'\-%]+")
_ADVERBS = _set(
    """
    honestly clearly obviously definitely def defo probably certainly surely totally
    absolutely really literally basically also still now just actually almost truly 100%
    tbh frankly seriously genuinely
    """
)
#: What may follow the head noun before the attribution: "next door", "in the flat above
#: us", "who keeps replying to me", "screaming at a waiter", an apposition's comma.
_POSTMOD = re.compile(
    r"^(?:[,\s]*|\s*(?:next\s+door|upstairs|downstairs|across\s+the\s+(?:road|street|hall)|"
    r"(?:in|on|at|from|of|above|below|over|under|across|behind|with)(?:\s+[\w'\-]+){1,5}|"
    r"(?:who|that)(?:\s+[\w'\-]+){1,7}|[\w]+ing(?:\s+[\w'\-]+){0,4})\s*,?)$"
)


def _person_noun(word: str) -> bool:
    w = word.removesuffix("'s")
    if w in PERSON_NOUNS:
        return True
    if w.startswith("ex-") and w[3:] in PERSON_NOUNS:  # ex-wife
        return True
    return w.endswith("-in-law")


def _capital(n: Normalised, start: int, end: int) -> bool:
    """``norm[start:end]`` is written with a capital initial in the original."""
    s, e = n.orig_span(start, end)
    text = n.orig[s:e]
    return bool(text) and text[0].isupper()


def _reference(
    n: Normalised, lo: int, hi: int, sentence_start: int, *, at_end: bool
) -> tuple[str, int] | None:
    """The specific person referred to in ``norm[lo:hi]``: ``(kind, start)`` with kind
    ``name``, ``common-name`` (a capitalised ordinary word opening the sentence: "Trump",
    but also "Work"), ``lower-name`` (a word no dictionary knows, in lowercase, opening the
    clause: "elon"), ``np`` (determiner + person noun) or ``pronoun``; ``None`` when it is
    the writer, "you", someone indefinite or no person. ``at_end``: the reference ends the
    span (the subject before an attribution); otherwise it starts it ("traits from …")."""
    norm = n.norm
    toks = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(norm, lo, hi)]
    if at_end:
        while toks and (toks[-1][0] in _ADVERBS or toks[-1][0] in _AUXILIARIES):
            toks.pop()
        if not toks:
            return None
        word, s, e = toks[-1]
        if word in _BARE_RELATIONS and len(toks) == 1:  # "Dad was a narcissist."
            return "np", s
        # a determiner + person noun, possibly followed by "next door", "who…", "in…"
        for i in range(len(toks) - 1, max(-1, len(toks) - 14), -1):
            head, _, he = toks[i]
            if not _person_noun(head):
                continue
            tail = norm[he : toks[-1][2]]
            if not _POSTMOD.match(tail):
                continue
            for j in range(i - 1, max(-1, i - 5), -1):
                d = toks[j][0]
                if d in _INDEFINITE:
                    break
                if d in _DETS or (d.endswith("'s") and len(d) > 2):
                    return "np", toks[j][1]
                if not re.fullmatch(r"[\w\-]+", d):
                    break
            break  # the nearest person noun decides
        # after the noun phrases, whose relative clauses may end in "me" or "us"
        if word.removesuffix("'s") in _PRONOUNS:  # "she's definitely got…"
            return "pronoun", s
        if word in _SELF or word in ("you", "you're", "they", "they're", "who", "which"):
            return None
        if (
            re.fullmatch(r"[a-z]{3,}", word)
            and not _capital(n, s, e)
            and (len(toks) == 1 or not re.fullmatch(r"[\w'\-%]+", toks[-2][0]))
            and word not in _NOT_NAMES
            and not _person_noun(word)
            and not re.match(LABEL, word)
            and not is_common(word, "en")
        ):  # "elon is a narcissist": a name written in lowercase
            return "lower-name", s
        # a name: the last words, capitalised in the original
        if re.fullmatch(r"[^\W\d_][\w'\-.]*", word) and _capital(n, s, e):
            w = word.removesuffix("'s").strip(".")
            if w in _NOT_NAMES or _person_noun(w) or re.match(LABEL, w):
                return None
            first = s
            k = len(toks) - 2
            while k >= 0 and _capital(n, toks[k][1], toks[k][2]) and toks[k][0] not in _NOT_NAMES:
                first = toks[k][1]
                k -= 1
            opens = not _WORD.search(norm, sentence_start, first)
            if opens and is_common(toks[k + 1][0].removesuffix("'s"), "en"):
                return "common-name", first
            return "name", first
        return None
    # the person after the label: "from Elon Musk", "all over my daughter's new boyfriend"
    if not toks:
        return None
    word, s, e = toks[0]
    if word in _DETS or (word.endswith("'s") and len(word) > 2):
        for t, _, _ in toks[1:5]:
            if _person_noun(t):
                return "np", s
            if not re.fullmatch(r"[\w\-']+", t):
                return None
        return None
    if re.fullmatch(r"[^\W\d_][\w'\-.]*", word) and _capital(n, s, e):
        w = word.removesuffix("'s")
        if w not in _NOT_NAMES and not _person_noun(w):
            return "name", s
    return None


#: The person after the label: "narcissistic traits from Elon Musk", "red flags of
#: narcissism all over my daughter's new boyfriend", "classic signs of ADHD in my nephew".
_AFTER = re.compile(
    r"\s+(?:(?:traits?|behaviou?rs?|tendencies|energy|vibes)\s+(?:from|by|in)|all\s+over"
    r"|(?P<in>in))\s+"
)


def diagnosed(n: Normalised, start: int, end: int) -> bool:
    """The label at ``norm[start:end]`` is attributed to one specific person (see the module
    docstring)."""
    norm = n.norm
    s, e = sentence(norm, start, end)
    if _FICTION.search(norm, s, e):
        return False
    label = norm[start:end]
    s0, _ = n.orig_span(start, end)
    written = n.orig[s0 : s0 + len(label)]
    if written[:1].isupper() and not written.isupper() and _WORD.search(norm, s, start):
        return False  # "The Psychopath Test": a title, mid-sentence in capitals
    nxt = _WORD.match(norm, end + 1) if end < len(norm) and norm[end] == " " else None
    if nxt is not None and nxt.group().removesuffix("'s") in _MODIFIED_NOUNS:
        return False
    if label.startswith(("paranoi", "depress")) and _PARANOID_ABOUT.match(norm, end):
        return False  # "paranoid about the bins": a worry, not a symptom
    if (
        label == "borderline"
        and nxt is not None
        and nxt.group() not in _AFTER_BORDERLINE
        and is_common(nxt.group(), "en")
    ):
        return False  # "a borderline disaster", "borderline grades"
    condition = label.startswith(_CONDITIONS)
    if label == "spectrum" and not _ON_THE.search(norm, max(s, start - 24), start):
        return False
    # the person before an attribution: "<person> is/has/'s got … <label>"
    attr = None
    for m in _ATTR.finditer(norm, s, start):
        attr = m
    if attr is not None:
        gap = norm[attr.end() : start]
        words = _WORD.findall(gap)
        # "Trump's narcissism": a possessive is an attribution right before a disorder's name
        possessive = attr.group() == "'s" and not words
        if (
            len(words) <= 5
            and not any(w in _GAP_BLOCKERS for w in words)
            and not re.search(r"[;()\"]", gap)
            and not _object_of_preposition(words, label)
            and not (
                _DISORDER_NOUN.match(label)
                and not possessive
                and not _HAVING.search(norm, attr.start(), start)
            )
        ):
            clause = max(s, *(norm.rfind(c, s, attr.start()) + 1 for c in ":;"))
            if norm[attr.start() : attr.end()].strip() in (":", "=", "-", "\u2013", "\u2014"):
                clause = s
            ref = _reference(n, clause, attr.start(), s, at_end=True)
            if ref is not None and possessive and condition:  # "Greta's autism": her own
                ref = ("common-name", ref[1])
            if ref is not None and _judged(n, ref, condition, clause, ref[1], start, e, attr):
                return True
    # the person after the label: "narcissistic traits from Elon Musk"
    after = _AFTER.match(norm, end, e)
    if after is not None:
        ref = _reference(n, after.end(), e, s, at_end=False)
        if after.group("in") and ref is not None and ref[0] != "np":
            ref = None  # "a treatment for PTSD in NICE guidelines"
        if ref is not None and _judged(n, ref, condition, s, start, start, e, None):
            return True
    return False


def _judged(
    n: Normalised,
    ref: tuple[str, int],
    condition: bool,
    clause: int,
    person: int,
    label: int,
    end: int,
    attr: re.Match[str] | None,
) -> bool:
    """The reference and the label make a diagnosis: no hypothetical frame right before the
    person, no denial between them, and for a condition (or a capitalised ordinary word
    opening the sentence: "Trump is…" but also "Work is manic") the writer's own judgement."""
    norm = n.norm
    kind, _ = ref
    before = _WORD.findall(norm, clause, person)[-4:]
    if before and _HYPOTHETICAL.search(" ".join(before)):
        return False
    if _NEGATION.search(norm, person, label):
        return False
    if kind == "name":
        return True
    gap_from = attr.end() if attr is not None else label
    judged = bool(
        _JUDGEMENT.search(norm, person, end) or _INTENSIFIER.search(norm, gap_from, label)
    )
    if kind == "common-name":
        return judged
    if kind == "lower-name":
        return judged or not condition
    return judged or not condition


_DIAGNOSE = re.compile(r"\bdiagnos(?:e|ing)\s+(?P<who>(?:[\w'\-]+\s+){1,4}?)(?:with|as)\b")
#: "I'd diagnose Boris with…", "Diagnosing my ex with NPD…" (tried at "diagnos*" hits)
DIAGNOSE = _DIAGNOSE.pattern


def diagnoses_whom(n: Normalised, m: re.Match[str]) -> bool:
    """ "diagnose <person> with/as": a specific person, not "diagnose ADHD in adults"."""
    norm = n.norm
    s, _ = sentence(norm, m.start(), m.end())
    lo, hi = m.span("who")
    ref = _reference(n, lo, hi, s, at_end=True)
    if ref is None:
        return False
    before = _WORD.findall(norm, s, m.start())[-4:]
    return not (before and _HYPOTHETICAL.search(" ".join(before)))
