"""What makes a clinician's post a disclosure: the vocabulary and checks of the ``clinician`` pack.

A post discloses a client when it refers to *one specific person* the writer treats — "my
client", "a man I'm seeing", "the 12-year-old I see on Wednesdays", "a patient this morning" —
rather than to clients in general ("clients often…", "if a client asks…", "many of my
clients…"). The pack's regexes (in :mod:`.packs`) find candidate references; the checks here
decide, from the sentence around a candidate, whether it is specific:

* a **narrative** sentence — a time marker ("today", "this morning", "on Monday", "at 2pm") or a
  past-tense verb ("told", "cancelled", "drew") — reports an event, and events happen to
  specific people; psychoeducation and practice news are in the present tense or the future;
* a **generic frame** right before the reference ("if", "when", "imagine", "every", "any"…)
  makes it hypothetical;
* the **head noun** of a reference must be a person (not "the people I work with", "a film I
  saw", "a colleague I work with", "my client base").

All of it is English (British and American spelling). The word lists are small, closed sets
(function words, time words, irregular past tenses, person nouns); anything outside them is
judged by its shape (``-ed`` past tenses, ``-s`` plurals), which is where the heuristics err.
"""

from __future__ import annotations

import re

from ._text import Normalised


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- words ------------------------------------------------------------------------------------

#: The people a clinician treats, singular (regex alternation on the ``norm`` view).
ROLE = r"(?:client|patient|counselee|analysand|service[\s\-]+user)"
#: Plural forms, for "one of my …".
ROLES = (
    r"(?:clients|patients|counselees|analysands|service[\s\-]+users|young\s+people|regulars|"
    r"families|couples|referrals|supervisees|kids\s+on\s+my\s+caseload)"
)

#: Nouns that name a person (or a couple/family seen together), singular: what may follow
#: "a …" in "saw a … who", "a … I see on Fridays". After an unambiguous clinical verb
#: ("counselling", "treating", "I'm seeing") any noun that is not in ``NOT_CLIENT_HEADS`` will
#: do; after an everyday verb (saw, visit) it must be one of these or an occupation.
PERSON_WORDS = _words(
    """
    man woman lad boy girl guy chap bloke fella fellow gentleman gent lady teen teenager
    adolescent kid child toddler baby infant youngster youth mum mom mother dad father
    parent grandmother grandfather grandma grandad granddad grandpa gran granny nan
    widow widower couple family person someone somebody student pupil veteran carer
    caregiver refugee pensioner retiree survivor member resident client patient
    counselee analysand referral user sibling twin stepmum stepmom stepdad
    """
)

#: Occupations: a person too ("a retired teacher I see", "saw a builder who…").
OCCUPATION_WORDS = _words(
    """
    teacher headteacher builder plumber electrician lawyer solicitor barrister accountant
    engineer firefighter officer soldier pilot chef cook driver vicar priest farmer musician
    artist actor writer journalist banker cleaner waiter waitress shopkeeper postman
    paramedic nurse midwife footballer athlete dancer singer mechanic labourer laborer
    pensioner carer receptionist manager secretary cop policeman policewoman
    """
)

#: Heads that are never a client (colleagues, groups, things one sees or works with).
NOT_CLIENT_HEADS = _words(
    """
    colleague colleagues team teams staff people everyone everybody anyone anybody all
    many most few lot lots bit number range variety kind sort type couple-of group
    groups bunch supervisor manager boss charity company organisation organization
    school practice clinic service trust network agency council board committee band
    film movie show play gig book article post video podcast talk training course
    conference workshop webinar meme quote tweet thread documentary series episode paper
    study friend friends partner therapist counsellor counselor psychologist
    psychiatrist psychotherapist doctor gp physio dentist specialist consultant surgeon
    coach practitioner professional expert trainer tutor lecturer mentor supervisee
    myself yourself itself one ones thing things way ways
    """
)

#: After "my/our … client": words that show one client is meant (a verb, a relative pronoun, a
#: preposition, a title, a time). Any other word continues a compound ("my client base", "my
#: client work").
SPECIFIC_NEXT = _words(
    """
    who whose with in on from at is was has had just finally still recently once also
    always never really said told asked shared admitted confessed cried wept disclosed
    revealed texted emailed rang called phoned brought cancelled canceled relapsed
    described mentioned laughed stormed walked turned came arrived left died fell broke
    sent wrote gave handed hugged thanked started starts finished quit got passed failed
    lost won went made took found thought felt kept met ran sat saw spoke stood began
    drew ate slept woke heard says tells keeps wants thinks feels works lives comes goes
    brings asks sees hates loves needs knows seems looks sounds did does didn't doesn't
    isn't wasn't hasn't can't won't couldn't wouldn't of this today tonight yesterday
    earlier last mr mrs ms miss mx dr
    """
)

#: Family members: "a 15-year-old son", "my 7-year-old" are the writer's family, not clients.
FAMILY_WORDS = _words(
    """
    son sons daughter daughters kid kids child children niece nephew grandson
    granddaughter brother sister cousin stepson stepdaughter dog cat puppy kitten horse
    """
)

#: Irregular past tenses (regular ones end in -ed).
_IRREGULAR_PAST = _words(
    """
    was were had did said told came went got gave sent wrote left lost won fell broke
    brought took made found thought felt kept met ran sat saw spoke stood began drew ate
    slept woke heard knew grew threw flew drove rode hid bit beat bought caught taught
    fought sought paid laid led fed bled fled held built bent spent lent meant dealt
    dreamt burnt learnt spelt shot lit hung swung stuck struck dug wept crept slept
    swept rang sang sank drank shrank swam began forgot froze chose spoke stole woke
    wore tore swore bore shook took rose arose drove strove dove understood withstood
    overheard overslept mistook undertook
    """
)
#: Words ending in -ed that are not past tenses, or are participles of generic statements
#: ("qualified counsellors", "trauma-informed practice").
_ED_NOT_PAST = _words(
    """
    bed red shed seed speed feed weed hundred sacred naked wicked sled bred fed led sped
    fled bled bored tired scared worried interested qualified trained registered
    accredited based experienced skilled licensed related informed focused focussed
    centred centered supervised specialised specialized dedicated advanced detailed
    limited unlimited sustained varied mixed balanced blessed beloved aged used embed
    """
)
#: A past participle after these is part of a generic or future statement ("can be
#: diagnosed", "are often referred"), not a report of an event.
_NOT_NARRATIVE_BEFORE = _words(
    """
    be being is are am can may might will would should could must to often usually
    typically commonly sometimes rarely get gets getting become becomes feel feels a an
    the my your his her their our its this that very so too more most less feeling
    """
)

_WORD = re.compile(r"[^\W\d_][\w']*")
#: a word (with digits, hyphens) or one punctuation character
_WORD_OR_STOP = re.compile(r"[\w'\-]+|[^\w\s]")
#: A time that marks an event: today, this morning, on Monday, at 2pm, last week…
_WHEN = re.compile(
    r"\b(?:today|tonight|yesterday|this\s+(?:morning|afternoon|evening|week|weekend)|"
    r"last\s+(?:night|week|weekend|month|friday|monday|tuesday|wednesday|thursday|saturday|"
    r"sunday)|earlier(?:\s+today)?|just\s+now|right\s+now|"
    r"(?:on|this|last)\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day(?!s)|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day\s+(?:morning|afternoon|evening|night)(?!s)|"
    r"(?:at\s+)?\d{1,2}(?:[:.]\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.|o'clock)|"
    r"(?:today|tonight|yesterday|this\s+morning|this\s+afternoon|this\s+evening)'s)\b"
)
#: A hypothetical or generic frame: "if a client…", "when a patient tells you…".
_GENERIC = re.compile(
    r"\b(?:if|when|whenever|what\s+if|suppose|supposing|imagine|say|let's\s+say|should|"
    r"would|might|every|any|each|no|whether|unless|how\s+do|how\s+to|what\s+to\s+do|"
    r"what\s+do\s+you|as\s+a|being\s+a|for\s+a|for\s+every|many|most|some|all)\b"
)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
#: he/she and the like: someone other than the writer is the subject of the story
_THIRD_PERSON = re.compile(
    r"\b(?:she|he|her|him|his|hers|client|patient|(?:a|an|the|our|this|one)\s+(?:[\w\-]+\s+){0,2}?"
    r"(?:" + "|".join(sorted(PERSON_WORDS - {"someone", "somebody"})) + r"))\b"
)
_SELF_SUBJECT = re.compile(
    r"\b(?:my\s+(?:own\s+)?(?:therapist|counsellor|counselor|supervisor|psychologist|"
    r"psychiatrist|doctor|gp|coach)|mine)\s*$"
)


def is_past(word: str, before: str = "") -> bool:
    """A past tense or participle that reports an event (``before`` is the previous word)."""
    if word in _IRREGULAR_PAST:
        return before not in _NOT_NARRATIVE_BEFORE or word in ("was", "were", "had", "did")
    if len(word) < 5 or not word.endswith("ed") or word in _ED_NOT_PAST:
        return False
    return before not in _NOT_NARRATIVE_BEFORE


def sentence(norm: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around ``[start, end)`` (at most 300 characters either way)."""
    lo = max(0, start - 300)
    s = lo
    for m in _SENTENCE_END.finditer(norm, lo, start):
        s = m.end()
    after = _SENTENCE_END.search(norm, end, min(len(norm), end + 300))
    e = after.start() if after else min(len(norm), end + 300)
    return s, e


def narrative(norm: str, s: int, e: int) -> bool:
    """``norm[s:e]`` reports an event: a time marker or a past-tense verb."""
    if _WHEN.search(norm, s, e):
        return True
    before = ""
    for m in _WORD.finditer(norm, s, e):
        w = m.group()
        if is_past(w, before):
            return True
        before = w
    return False


def generic_before(norm: str, s: int, start: int, words: int = 4) -> bool:
    """A hypothetical/generic frame in the last ``words`` words before ``start`` (same
    sentence, from ``s``)."""
    pieces = _WORD.findall(norm, s, start)[-words:]
    return bool(pieces) and bool(_GENERIC.search(" ".join(pieces)))


def words_of(text: str) -> list[str]:
    return _WORD.findall(text)


def head_is_person(words: list[str]) -> bool:
    return any(
        w in PERSON_WORDS or w in OCCUPATION_WORDS or w.rstrip("'s") in PERSON_WORDS for w in words
    )


def plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "'s", "us", "is"))


# -- checks (``Validator``s of the pack's patterns) ------------------------------------------


def not_generic(n: Normalised, m: re.Match[str]) -> bool:
    """A reference that is specific by its form; only a generic frame before it undoes that."""
    norm = n.norm
    s, _ = sentence(norm, m.start(), m.end())
    return not generic_before(norm, s, m.start())


def role_reference(n: Normalised, m: re.Match[str]) -> bool:
    """``a/one/another client …``: specific when the client acts in the past ("a client just
    told me"), is placed in time ("a patient this morning"), is described ("a client (40s…",
    "a client of mine, a nurse"), or is the object of the writer's narrative verb ("had a
    client", "heard from a former client") — and no generic frame comes first."""
    norm = n.norm
    s, e = sentence(norm, m.start(), m.end())
    if generic_before(norm, s, m.start()):
        return False
    rest = norm[m.end() : min(e, m.end() + 80)]
    if _HABITUAL.match(rest):  # "saw a client every hour"
        return False
    pre = m.group("pre")
    if pre:  # "had a client cry", "saw a patient with…", "heard from a client: …"
        if pre.startswith("had"):
            return True
        nxt = _WORD_OR_STOP.match(rest.lstrip())
        return (
            nxt is None
            or not nxt.group()[0].isalnum()
            or nxt.group() in _AFTER_OBJECT
            or is_past(nxt.group())
        )
    if rest.startswith(("-", "'")):  # "a client-led approach", "a client's right to …"
        return False
    if re.match(r"\s*(?:[,(:;]|of\s+(?:mine|ours)\b|(?:on|in|at|from)\s+(?:my|our)\s)", rest):
        return True
    if _WHEN.match(rest.lstrip()) or re.match(
        r"\s*(?:\w+\s+)?(?:\d|in\s+(?:his|her|their)"
        r"\s+(?:early|mid|late|\d))",
        rest,
    ):
        return True
    for w in _WORD.findall(rest)[:4]:
        if w in ("who", "whose", "that"):
            return narrative(norm, s, e)
        if is_past(w):
            return True
        if w not in _ADVERBS:
            return False
    return False


#: "a client every hour", "a patient each week": a routine, not one person.
_HABITUAL = re.compile(r"\s*(?:every|each|per|a\s+(?:day|week|month|year)|an\s+hour)\b")
#: What may follow the object of the writer's verb ("saw a patient *with*…", "heard from a
#: client *today*"); anything else makes "client/patient" an adjective ("a patient approach").
_AFTER_OBJECT = _words(
    """
    who whose that with in from at on of for today tonight yesterday this last earlier
    again recently and but so about after before when
    """
)
#: Between a reference and its verb: "a client *has just* told me".
_ADVERBS = _words(
    """
    just finally once recently then also actually suddenly eventually never has have had
    really
    """
)


def my_role(n: Normalised, m: re.Match[str]) -> bool:
    """``my/our … client``: one client unless a compound follows ("my client base") or a
    generic frame comes first."""
    norm = n.norm
    s, e = sentence(norm, m.start(), m.end())
    if generic_before(norm, s, m.start()):
        return False
    rest = norm[m.end() : min(e, m.end() + 60)]
    if rest.startswith("-"):
        return False
    if rest.startswith("'s"):
        nxt = _WORD.findall(rest[2:])[:1]
        return (bool(nxt) and nxt[0] in _RELATIVE_WORDS) or narrative(norm, s, e)
    stripped = rest.lstrip()
    if not stripped or stripped[0] in ",(:;.!?\u2014-":
        return True
    nxt = _WORD.findall(stripped)[:1]
    if not nxt:
        return True
    w = nxt[0]
    return w in SPECIFIC_NEXT or is_past(w)


_RELATIVE_WORDS = _words(
    """
    husband wife partner spouse mother mum mom father dad son daughter kids kid children
    boss name job employer diagnosis affair divorce boyfriend girlfriend ex sister
    brother family baby parents mother-in-law teacher school
    """
)


def person_clause(n: Normalised, m: re.Match[str]) -> bool:
    """``a … I work with`` / ``the … I see on Fridays``: the head must be one person (not
    "the people I work with", "a colleague I work with", "a film I saw"); with ``the``, the
    sentence must tell an event (generic: "the person I work with is the expert")."""
    norm = n.norm
    s, e = sentence(norm, m.start(), m.end())
    if generic_before(norm, s, m.start()):
        return False
    det = m.group("det")
    np = words_of(m.group("np") or "")
    head = np[-1] if np else det
    if head in NOT_CLIENT_HEADS or (det not in ("someone", "somebody") and not np):
        return False
    if plural(head) and head not in PERSON_WORDS:
        return False
    verb = m.group("verb").split()[0]
    if verb in _SOCIAL_VERBS:
        if not (_has_role(np) or _has_age(m.group("np") or "")):
            return False
    elif verb in _AMBIGUOUS_VERBS and not (
        head_is_person([*np, det]) or _has_age(m.group("np") or "")
    ):
        return False
    if det in ("the", "that", "this"):
        return narrative(norm, s, e)
    return True


#: Verbs that also describe everyday life (seeing a film, visiting a museum): a reference with
#: one of them needs a person noun.
_AMBIGUOUS_VERBS = _words(
    """
    see saw seen met meet meeting visit visited visiting visits help helped helping had
    have got 've spent sat sitting spoke speaking talked talking
    """
)
#: "had a … who": a parent or partner is the writer's own.
_HAVING_VERBS = _words("had have got")
_PARENTS = _words(
    """
    mum mom mother dad father parent grandmother grandfather grandma grandad granddad grandpa
    gran granny nan husband wife partner
    """
)
#: Meeting someone is social life unless the someone is a client or a stated age.
_SOCIAL_VERBS = frozenset(["met", "meet", "meeting"])
_ROLE_WORDS = frozenset(["client", "patient", "counselee", "analysand", "referral"])


def _has_role(words: list[str]) -> bool:
    return any(w in _ROLE_WORDS for w in words)


_AGE = re.compile(
    r"\d{1,2}\s*[\-\u2010-\u2015 ]?\s*(?:year|yr)s?\s*[\-\u2010-\u2015 ]?\s*old|"
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen)[\s\-]+(?:year|yr)s?[\s\-]+old"
)


def _has_age(text: str) -> bool:
    return bool(_AGE.search(text))


def verb_person(n: Normalised, m: re.Match[str]) -> bool:
    """``seeing/working with/supporting … a … who/whose``: the head is a person, not a thing or
    a colleague; everyday verbs (saw, met, had) need a person noun or an age."""
    norm = n.norm
    s, _ = sentence(norm, m.start(), m.end())
    if generic_before(norm, s, m.start()):
        return False
    np = words_of(m.group("np") or "")
    if not np:
        return False
    if any(w in NOT_CLIENT_HEADS for w in np[:3]) or any(w in FAMILY_WORDS for w in np[:3]):
        return False
    verb = m.group("verb").split()[0].lstrip("'")
    if verb in _SOCIAL_VERBS:
        return _has_role(np) or _has_age(m.group("np"))
    if verb in _HAVING_VERBS and any(w in _PARENTS for w in np[:3]):
        return False  # "I had a mum who…" is the writer's own
    if verb in _AMBIGUOUS_VERBS:
        return head_is_person(np) or _has_age(m.group("np"))
    return True


def age_reference(n: Normalised, m: re.Match[str]) -> bool:
    """``a 15-year-old …``, ``a man in his 40s …``: one person of a stated age, in a story
    (``my 13-year-old`` is the writer's own child unless a client noun follows)."""
    norm = n.norm
    s, e = sentence(norm, m.start(), m.end())
    if generic_before(norm, s, m.start()):
        return False
    after = words_of(norm[m.end() : min(e, m.end() + 40)])[:2]
    det = m.group("det")
    if det in ("my", "our"):
        return bool(re.search(ROLE, " ".join(after[:2])))
    if after and (after[0] in FAMILY_WORDS or after[0].rstrip("'s") in FAMILY_WORDS):
        return False
    return narrative(norm, s, e)


def session_person(n: Normalised, m: re.Match[str]) -> bool:
    """A session marked in time (or described) followed, in the same or the next sentence, by
    the person it was with ("Tough session today. She…")."""
    norm = n.norm
    s, e = sentence(norm, m.start(), m.end())
    if generic_before(norm, s, m.start(), words=3):
        return False
    limit = min(len(norm), e + 300)
    end2 = e
    term = _SENTENCE_END.match(norm, e)
    if term is not None:
        nxt = _SENTENCE_END.search(norm, term.end(), limit)
        end2 = nxt.start() if nxt else limit
    return bool(_THIRD_PERSON.search(norm, m.end(), end2))


def told_me_in_session(n: Normalised, m: re.Match[str]) -> bool:
    """ "… told me in our session": not the writer's own therapist telling them something."""
    norm = n.norm
    s, _ = sentence(norm, m.start(), m.end())
    return not _SELF_SUBJECT.search(norm, max(s, m.start() - 40), m.start())


def located_person(n: Normalised, m: re.Match[str]) -> bool:
    """ "in my therapy room", "in clinic", "on the ward": with a person and an event."""
    norm = n.norm
    s, e = sentence(norm, m.start(), m.end())
    if generic_before(norm, s, m.start(), words=3):
        return False
    return bool(_THIRD_PERSON.search(norm, s, e)) and narrative(norm, s, e)


def sentence_start(n: Normalised, m: re.Match[str]) -> bool:
    """ "Client this morning: …", "Client cancelled …": a bare noun that opens a sentence."""
    norm = n.norm
    i = m.start() - 1
    while i >= 0 and not norm[i].isalnum() and norm[i] not in ".!?:;\n":
        i -= 1
    return i < 0 or norm[i] in ".!?:;\n"


def session_with(n: Normalised, m: re.Match[str]) -> bool:
    """ "a session with a widower who…": with one person (not "a session with a therapist",
    "with my supervisor"), in a story."""
    norm = n.norm
    s, e = sentence(norm, m.start(), m.end())
    if generic_before(norm, s, m.start()):
        return False
    head = np_head(norm, m.start("np"))
    if not head or head in NOT_CLIENT_HEADS or head in FAMILY_WORDS:
        return False
    if plural(head) and head not in PERSON_WORDS:
        return False
    return narrative(norm, s, e)


#: Words that end a noun phrase: "a teenage client | today", "a man | who…".
_NP_END = _words(
    """
    who whose which that with today tonight yesterday this last about in on at from and
    or but for to of after before since because while earlier again
    """
)


def np_head(norm: str, pos: int, limit: int = 4) -> str:
    """The last word of the noun phrase starting at ``pos`` (at most ``limit`` words)."""
    head = ""
    for count, m in enumerate(_WORD_OR_STOP.finditer(norm, pos, min(len(norm), pos + 80))):
        w = m.group()
        if count >= limit or not w[0].isalnum() or w in _NP_END:
            break
        head = w
    return head
