"""The ``clinician`` pack: what a therapist or counsellor should not post.

The rules are grounded in the APA Ethics Code (4.01 maintaining confidentiality, 4.07 use of
confidential information for didactic or other purposes, 5.05 testimonials) and the ACA Code of
Ethics H.6 (social media: separate professional/personal presence, H.6.d confidentiality), plus
the common advice not to diagnose people one has not examined (the "Goldwater rule", section 7.3
of the American Psychiatric Association's ethics annotations; APA Ethics Code 9.01 for
psychologists) and not to broadcast the office location from personal accounts. These are
phrase heuristics: they default to ``warn`` and can be raised to ``block`` (or set ``off``) per
persona with ``[guard] rules = {"clinician.testimonial" = "block"}``.

Patterns whose every match holds a digit (``_TIME``, ``_AGE``, a house number) say so with
``requires=NEEDS_DIGIT``; the others name the literals they need (``_NEEDS_WHEN``), so a window
without them is skipped before any regex runs.
"""

from __future__ import annotations

import re

from .._disclosure import (
    PERSON_WORDS,
    ROLE,
    ROLES,
    age_reference,
    located_person,
    my_role,
    not_generic,
    person_clause,
    role_reference,
    sentence_start,
    session_person,
    session_with,
    told_me_in_session,
    verb_person,
)
from .._text import Normalised
from . import _diagnosis as _dx
from .engine import NEEDS_DIGIT, PackRule
from .engine import compile_pattern as _c

# -- vocabulary shared by the rules ----------------------------------------------------------------

_APOS = r"['’]"
_CLIENT = r"(?:client|patient|counselee|analysand|therapy\s+client)"
_WHEN = (
    r"(?:today|tonight|this\s+(?:morning|afternoon|evening|week)|yesterday|earlier(?:\s+today)?"
    r"|last\s+(?:night|week)|just\s+now)"
)
_TIME = r"(?:\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.|o" + _APOS + r"clock)|\d{1,2}:\d\d)"
#: literals every ``_WHEN`` contains (``tonight`` and ``last night`` contain ``night``…)
_NEEDS_WHEN = (
    "today",
    "night",
    "morning",
    "afternoon",
    "evening",
    "week",
    "yesterday",
    "earlier",
    "now",
)
_AGE = r"\d{1,2}\s*[\-\u2010-\u2015 ]?\s*(?:year|yr)s?\s*[\-\u2010-\u2015 ]?\s*old"
_RELATIVE = (
    r"(?:husband|wife|partner|spouse|mother|mom|mum|father|dad|son|daughter|kids?|children|"
    r"boss|name|job|employer|diagnosis|affair|divorce|boyfriend|girlfriend|ex)"
)

#: Keywords of the references to a client by role ("client", "service user", "young people").
_KW_ROLE = "client* patient* counselee* analysand* service young caseload regulars"
#: What a clinician does with a client (the verbs of "a man I'm seeing", "working with a…").
_CARE = (
    r"(?:work(?:ed|ing)?\s+with|see(?:ing|n)?|saw|counsel(?:l?ed|l?ing)?|support(?:ed|ing)?|"
    r"treat(?:ed|ing)?|visit(?:ed|ing)?|mentor(?:ed|ing)?|assess(?:ed|ing)?|admitted|"
    r"(?:care|cared|caring)\s+for|look(?:ed|ing)?\s+after|met|meet(?:ing)?|"
    r"(?:sat|sit|sitting)\s+with)"
)
_KW_CARE = (
    "work worked working see seeing seen saw counsel* support* treat* visit* mentor* assess* "
    "admitted care cared caring look looked looking met meet meeting sat sit sitting spent"
)
#: The writer's narrative verb before "a client": "had a client…", "heard from a client…".
_PRE = (
    r"had|have|'ve\s+got|got|saw|see|seen|seeing|met|admitted|assessed|discharged|treated|"
    r"visited|lost|heard\s+from|spoke\s+(?:to|with)|talked\s+(?:to|with)|ran\s+into|"
    r"bumped\s+into|call\s+with|text\s+from|email\s+from|message\s+from|letter\s+from|"
    r"card\s+from|worrying\s+about|thinking\s+(?:about|of)"
)
#: "a young woman who", "someone in today who": one person, up to a relative clause or a time
_ONE_PERSON = (
    r"(?:(?:a|an|one|this)\s+|(?=some(?:one|body)\b))(?P<np>(?:[\w'&\-]+\s+){1,6}?)"
    r"(?:who|whose|today|tonight|yesterday|this\s+(?:morning|afternoon|evening|week)|"
    r"earlier|last\s+(?:night|week))\b"
)
_SPELLED = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen)"
)
_ANY_AGE = (
    r"(?:(?:\d{1,2}|" + _SPELLED + r")\s*[\-\u2010-\u2015 ]?\s*(?:year|yr)s?\s*"
    r"[\-\u2010-\u2015 ]?\s*old|\d0[\-\u2010-\u2015 ]*something)"
)
_PERSON = r"(?:" + "|".join(sorted(PERSON_WORDS - {"someone", "somebody", "user"})) + r")"


def _capitalised(n: Normalised, m: re.Match[str], group: str = "cap") -> bool:
    """The named group is written with capital initials in the original (a proper name)."""
    start, end = n.orig_span(*m.span(group))
    words = re.findall(r"[^\W\d_][\w'’\-]*", n.orig[start:end])
    if not words or words[0].lower() in _NOT_NAMES:
        return False
    return all(w[0].isupper() for w in words)


_NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "it",
        "i",
        "we",
        "you",
        "who",
        "which",
        "what",
        "someone",
        "somebody",
        "everyone",
        "everybody",
        "anyone",
        "anybody",
        "nobody",
        "people",
        "person",
        "one",
        "each",
        "every",
        "no",
        "any",
        "some",
        "being",
        "if",
        "when",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "its",
        "there",
        "here",
        "why",
        "how",
        "honestly",
        "clearly",
        "obviously",
        "maybe",
        "perhaps",
        "narcissism",
        "narcissists",
        "narcissist",
        "mom",
        "dad",
        "mother",
        "father",
        "yes",
        "no",
        "so",
        "and",
        "but",
        "today",
        "tonight",
        "yesterday",
        "sometimes",
        "often",
        "client",
        "patient",
        "therapist",
        "being",
        "dr",
        "doctor",
        "prof",
        "professor",
        "mr",
        "mrs",
        "ms",
        "mx",
        "me",
        "us",
    ]
)


# -- clinician.client-disclosure ---------------------------------------------------------------

CLIENT_DISCLOSURE = PackRule(
    id="clinician.client-disclosure",
    severity="warn",
    summary="mentions a specific client/patient with identifying details",
    rationale=(
        "APA 4.01/4.07 and ACA H.6.d: no confidential information, and no information that "
        "could let anyone recognise a client, in any public or semi-public post; de-identified "
        "vignettes belong in supervised teaching contexts with consent, not on social media."
    ),
    keywords=(
        "client*",
        "patient*",
        "counselee*",
        "analysand*",
        "service",
        "young",
        "caseload",
        "year",
        "years",
        "yr",
        "yrs",
        "*0s",
        "twenties",
        "thirties",
        "forties",
        "fifties",
        "sixties",
        "seventies",
        "eighties",
        "nineties",
        "teens",
        "something",
        "regulars",
        *_KW_CARE.split(),
        "came",
        "comes",
        "coming",
        "told",
        "confided",
        "confessed",
        "disclosed",
        "explained",
        "described",
        "spoke",
        "speaking",
        "talked",
        "talking",
        "had",
        "got",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ),
    patterns=(
        # "one of my clients", "one of my young people"
        _c(
            rf"\bone\s+of\s+(?:my|our)\s+(?:[\w'\-]+\s+)?{ROLES}\b",
            not_generic,
            keywords=_KW_ROLE,
            first=r"one\s",
        ),
        # "a client of mine", "a client just told me", "had a client …", "a patient this morning"
        _c(
            rf"\b(?:(?P<pre>{_PRE})\s+)?(?:a|an|one|another|this|that)\s+"
            rf"(?:[\w'\-]+\s+){{0,2}}?{ROLE}(?![\w\-])",
            role_reference,
            keywords=_KW_ROLE,
        ),
        # "my client who…", "my Tuesday morning client brought…", "my last client of the day"
        _c(
            rf"\b(?:my|our)\s+(?:[\w'\-:.]+\s+){{0,3}}?{ROLE}(?!\w)",
            my_role,
            keywords=_KW_ROLE,
            first=r"(?:my|our)\s",
        ),
        # "my Thursday couple", "my 3pm family": one of the writer's appointments
        _c(
            rf"\bmy\s+(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|morning|afternoon|evening|"
            rf"{_TIME})\s+(?:[\w'\-]+\s+)?{_PERSON}(?!\w)",
            my_role,
            keywords="monday tuesday wednesday thursday friday saturday sunday",
            first=r"my\s",
            before=20,
            after=40,
        ),
        # "a 17 year old patient", "a client (40s, firefighter)"
        _c(
            rf"\b{_AGE}\s+(?:[^\W\d_]+\s+){{0,2}}?{_CLIENT}\b",
            requires=NEEDS_DIGIT,
            keywords=_KW_ROLE,
        ),
        _c(rf"\b{_CLIENT}\b[^.!?\n]{{0,40}}?\b{_AGE}\b", requires=NEEDS_DIGIT, keywords=_KW_ROLE),
        _c(rf"\b(?:my|a|one|this)\s+{_CLIENT}{_APOS}s\s+{_RELATIVE}\b", keywords=_KW_ROLE),
        _c(rf"\b{_CLIENT}s?\s+(?:named|called)\s+\w+", keywords=_KW_ROLE),
        _c(
            rf"\b(?:a|one|this|my)\s+(?:\w+\s+)?{_CLIENT}\s*\(\s*(?:\d|[^\W\d_]+\s*,)",
            keywords=_KW_ROLE,
        ),
        _c(
            rf"\bmy\s+(?:(?:new|former|old|current)\s+)?{_CLIENT}\s+(?P<cap>[^\W\d_][\w'’\-]*)"
            r"(?:\.|\b)",
            _capitalised,
            keywords=_KW_ROLE,
            first=r"my\s",
        ),
        # "a 15-year-old I work with", "the lady I visit on Tuesdays", "someone I work with"
        _c(
            rf"\b(?P<det>a|an|one|this|that|the|another|someone|somebody)\b"
            rf"(?P<np>(?:\s+[\w'\-]+){{0,5}}?)\s+(?:i|i'm|i've|i'd|i\s+am|i\s+have|i\s+had)\s+"
            rf"(?:(?:been|just|now|currently|recently|also|still|regularly|first|once|used\s+to|"
            rf"have|had|was|am)\s+){{0,3}}(?P<verb>{_CARE})\b",
            person_clause,
            keywords=_KW_CARE,
            before=80,
            after=20,
        ),
        # "I'm seeing a young woman who…", "working with a 7-year-old whose…"
        _c(
            rf"\b(?P<verb>{_CARE}|spent\s+(?:[\w']+\s+){{1,6}}?with|"
            r"(?:spoke|speaking|talked|talking)\s+(?:to|with))"
            rf"\s+{_ONE_PERSON}",
            verb_person,
            keywords=_KW_CARE + " " + _KW_ROLE + " young year years yr yrs spoke speaking talked "
            "talking",
            before=40,
            after=120,
        ),
        # "had a young man in clinic who…", "I've got a client who…"
        _c(
            rf"\b(?P<verb>had|got)\s+{_ONE_PERSON}",
            verb_person,
            keywords="had got",
            anchored=True,
            after=120,
        ),
        # "a 15-year-old …", "a man in his 40s …", "my 13-year-old client"
        _c(
            rf"\b(?P<det>a|an|one|this|that|my|our)\s+(?:[\w'\-]+\s+){{0,2}}?"
            rf"(?:{_ANY_AGE}|{_PERSON}\s+in\s+(?:his|her|their)\s+(?:early\s+|mid[\s\-]*|late\s+)?"
            rf"(?:\d0s|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties|"
            rf"teens))(?![\w\-])",
            age_reference,
            keywords="year years yr yrs *0s twenties thirties forties fifties sixties seventies "
            "eighties nineties teens something",
            before=60,
            after=40,
        ),
        # "a teenager told me she…", "a widower confided in me that his…"
        _c(
            rf"\b(?:a|an|one|this|that)\s+(?:[\w'\-]+\s+){{0,3}}?{_PERSON}\s+(?:just\s+|finally\s+|"
            r"once\s+)?(?:told|confided\s+in|admitted\s+to|confessed\s+to|disclosed\s+to|"
            r"explained\s+to|described\s+to)\s+me\s+(?:\w+\s+){0,3}?(?:that\s+)?"
            r"(?:she|he|they|her|his|their|about)\b",
            not_generic,
            keywords="told confided admitted confessed disclosed explained described",
            before=80,
            after=60,
        ),
        # "a young person on my caseload"
        _c(
            r"\b(?:a|an|one|this|the)\s+(?:[\w'\-]+\s+){0,3}?[\w'\-]+\s+(?:on|from|in)\s+"
            r"(?:my|our)\s+caseload\b",
            not_generic,
            keywords="caseload",
            before=80,
            after=10,
        ),
        # "a young dad came to see me today", "the student who comes to me on Mondays"
        _c(
            rf"\b(?:a|an|one|this|the)\s+(?:[\w'\-]+\s+){{0,3}}?(?:{_PERSON}|{_CLIENT})\s+"
            r"(?:who\s+)?(?:came|comes|come|has\s+been\s+coming|had\s+been\s+coming|"
            r"started\s+coming)\s+(?:in\s+)?to\s+(?:see\s+)?me\b",
            not_generic,
            keywords="came comes coming",
            before=80,
            after=30,
        ),
    ),
    message="discloses a client relationship with details (APA 4.01/4.07, ACA H.6.d)",
    true_positives=(
        "A client of mine, a 34-year-old teacher, finally left her job.",
        "One of my patients said the funniest thing.",
        "my client who lost his brother last spring is doing better",
        "Working with a 17 year old patient on exam anxiety.",
        "My Tuesday client, a nurse, brought me cookies.",
        "A patient named Carla taught me patience.",
        "My client's husband called the office.",
        "My patient J. finally got the job.",
        "I told my client Sarah to rest.",
        "A client (40s, firefighter) asked about sleep.",
        "My Tuesday morning client brought me flowers.",
        "My new client starts on Monday; she's a barrister going through a divorce.",
        "A 15-year-old I work with told me she's being bullied.",
        "a man in his 40s described his brother's suicide",
        "I'm seeing a widower whose wife died in March.",
        "Had someone in today who's been sleeping rough for two years.",
        "The older gentleman I see on Fridays brought me tomatoes again.",
        "Someone I work with told me she has been sleeping in her car.",
        "Had a client cry for the whole hour.",
        "A young person on my caseload was missing for three days.",
        "One of my young people got into university!",
        "A teenager told me she has been self-harming since Year 8.",
        "A young dad came to see me today whose partner died giving birth.",
    ),
    false_positives=(
        "I help clients with anxiety, burnout and grief.",
        "Clients often ask how long therapy takes.",
        "New client spots open in March.",
        "Patience is a skill. So is saying no.",
        "What to expect at a first appointment with a new therapist.",
        "My client base has grown.",
        "Many of my clients find that anxiety peaks on Sunday evenings.",
        "If you are a client of mine, please use the booking link.",
        "When a client tells you they're suicidal, ask about a plan.",
        "I have two spaces for new clients on Tuesday mornings.",
        "I will never discuss anyone I work with online.",
        "A colleague I work with has just published a book on grief.",
        "My 15-year-old daughter told me she wants to be a psychologist.",
        "A man I met at the conference told me about his new book.",
        "Men in their 40s are the group most at risk of suicide.",
        "A 2-year-old's tantrum is not manipulation; it's an overwhelmed nervous system.",
        "I saw a patient approach work wonders with my own nervous dog.",
    ),
)

# -- clinician.session-content -----------------------------------------------------------------

_KW_SESSION = "session* client* patient*"
SESSION_CONTENT = PackRule(
    id="clinician.session-content",
    severity="warn",
    summary="reports what happened or was said in a (recent) session",
    rationale=(
        "APA 4.01/4.07, ACA H.6.d: session content is confidential even without a name; a date "
        "or time marker ('today', 'my 3pm') narrows it to a person for anyone who knows the "
        "schedule (the client, their family, colleagues)."
    ),
    keywords=(
        "session*",
        "client*",
        "patient*",
        "therapy",
        "group",
        "*clock",
        "*am",
        "*pm",
        "*a.m.",
        "*p.m.",
        "appointment*",
        "consult*",
        "counselling",
        "counseling",
        "clinic",
        "room",
        "office",
        "surgery",
        "ward",
        "unit",
        "referral*",
        "bay",
        "bed",
        "cubicle",
        "admission*",
        "visit",
        "intake*",
        "assessment*",
        "told",
        "said",
        "admitted",
        "confided",
        "confessed",
        "showed",
        "asked",
        "shared",
    ),
    patterns=(
        _c(
            rf"\b(?:in|during|after|from|before)\s+(?:a\s+|my\s+|our\s+|one\s+|this\s+|the\s+|"
            rf"today{_APOS}s\s+)?(?:\w+\s+)?sessions?\s+{_WHEN}\b",
            keywords=_KW_SESSION,
            first=r"(?:in|during|after|from|before)\s",
            requires=_NEEDS_WHEN,
        ),
        _c(rf"\bin\s+session\s+{_WHEN}", keywords=_KW_SESSION, first=r"in\s", requires=_NEEDS_WHEN),
        _c(
            rf"\b{_WHEN}\b,?\s+(?:a|my|one|one\s+of\s+my|another)\s+(?:\w+\s+)?{_CLIENT}s?\b",
            keywords=_KW_SESSION,
            requires=_NEEDS_WHEN,
        ),
        _c(
            rf"\b(?:a|my|one)\s+(?:\w+\s+)?{_CLIENT}\s+(?:(?:just|once|recently|finally)\s+)?"
            r"(?:told|said|asked|shared|"
            r"admitted|confessed|cried|disclosed|revealed|texted|emailed|called|broke\s+down|"
            r"yelled|screamed)\b",
            keywords=_KW_SESSION,
        ),
        _c(
            rf"\bmy\s+{_TIME}\s+(?:{_CLIENT}|session|appointment)\b",
            keywords=_KW_SESSION,
            first=r"my\s",
            requires=NEEDS_DIGIT,
        ),
        _c(
            rf"\bmy\s+{_TIME}\s+(?:(?:just|finally)\s+)?(?:told|said|asked|cried|cancell?ed|"
            r"canceled|shared|admitted|brought)\b",
            keywords="*clock *am *pm *a.m. *p.m.",
            before=20,
            after=60,
            first=r"my\s",
            requires=NEEDS_DIGIT,
        ),
        _c(
            rf"\b(?:in|during|after)\s+(?:therapy|group|couples\s+therapy)\s+{_WHEN}\b",
            keywords="therapy group",
            before=40,
            after=60,
            first=r"(?:in|during|after)\s+(?:therapy|group|couples)\s",
            requires=_NEEDS_WHEN,
        ),
        _c(
            rf"\b{_WHEN}\s+in\s+(?:therapy|session|group)\b[^.!?\n]{{0,40}}?\b{_CLIENT}\b",
            keywords=_KW_SESSION,
            requires=_NEEDS_WHEN,
        ),
        _c(
            r"\bsession\s+with\s+(?P<cap>[^\W\d_][\w'’\-]*)",
            _capitalised,
            keywords="session*",
            anchored=True,
        ),
        # "session with a widower who…", "session today with a chap who…"
        _c(
            rf"\b(?:sessions?|intake|appointment|consultation|consult|assessment)\s+"
            rf"(?:(?:on|over|via|by)\s+\w+\s+|{_WHEN}\s+)?with\s+"
            rf"(?:a|an|my|this|one|another|the)\s+(?P<np>(?:[\w'\-]+\s+){{0,3}}?[\w'\-]+)",
            session_with,
            keywords="session* intake* appointment* consult* assessment*",
            anchored=True,
            after=100,
        ),
        # "Tough session today. She…", "our 8am session … He…", "last night's group: a man…"
        _c(
            rf"\b(?:{_WHEN}{_APOS}s|our|my)\s+(?:[\w\-:.]+\s+){{0,2}}?"
            r"(?:session|group|appointment|consultation)(?![\w\-])",
            session_person,
            keywords="session* group appointment* consult*",
            before=80,
            after=20,
        ),
        _c(
            rf"\b(?:session|group)\s+{_WHEN}\b",
            session_person,
            keywords="session* group",
            anchored=True,
            after=60,
        ),
        _c(
            r"\b(?:tough|hard|difficult|heavy|tearful|emotional|intense|moving|powerful|rough|"
            r"brilliant|funny|strange|weird|draining|lovely|beautiful|heartbreaking|"
            r"heart-breaking|sad|breakthrough|exhausting|amazing)\s+session\b",
            session_person,
            keywords="session*",
            before=30,
            after=20,
        ),
        # "she told me in our session", "he admitted to me in therapy"
        _c(
            r"\b(?:told|said\s+to|admitted\s+to|confided\s+in|confessed\s+to|showed|asked|"
            r"shared\s+with)\s+me\s+(?:\w+\s+){0,2}?in\s+(?:our\s+|the\s+|my\s+|a\s+|"
            r"today's\s+|this\s+\w+'s\s+|\w+'s\s+)?(?:session|appointment|therapy|counsell?ing|"
            r"consultation|clinic|group)\b",
            told_me_in_session,
            keywords="told said admitted confided confessed showed asked shared",
            anchored=True,
            after=80,
        ),
        # "in my therapy room", "in clinic today", "on the ward this morning"
        _c(
            r"\bin\s+(?:my|the|our)\s+(?:[\w\-]+\s+){0,2}?(?:therapy|counsell?ing|consulting|"
            r"consultation|treatment|play|clinic)\s+room\b|\b(?:in|at)\s+(?:my|our|the)\s+"
            r"(?:office|clinic|surgery)\b|\bin\s+clinic\b|\bon\s+(?:the|my|our)\s+"
            r"(?:ward|unit)\b",
            located_person,
            keywords="room office clinic surgery ward unit",
            before=60,
            after=10,
            first=r"(?:in|at|on)\s",
        ),
        # "my Thursday 4pm is a Year 11 pupil", "my 4 o'clock is a dentist"
        _c(
            rf"\bmy\s+(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day\s+)?"
            rf"(?:(?:morning|afternoon|evening)\s+)?{_TIME}\s+(?:(?:client|patient|appointment|"
            r"session)\s+)?(?:(?:just|finally|never|always|has\s+been|had\s+been)\s+)?"
            r"(?:is|was|has|had|did|didn't|cancell?ed|canceled|brought|told|said|asked|arrived|"
            r"turned|came|cried|texted|emailed|rang|called|left|showed|no-showed|wants|says|"
            r"started|finished|coming|been)\b",
            keywords="*clock *am *pm *a.m. *p.m.",
            before=50,
            after=60,
            first=r"my\s",
            requires=NEEDS_DIGIT,
        ),
        # "the woman in room 4", "the man in bed 12"
        _c(
            r"\b(?:in|on)\s+(?:room|bay|bed|cubicle|side\s+room)\s+\d{1,3}\b",
            located_person,
            keywords="room bay bed cubicle",
            before=60,
            after=10,
            first=r"(?:in|on)\s",
            requires=NEEDS_DIGIT,
        ),
        # "Client this morning: …", "Client cancelled her 3pm", "Today's clients: …"
        _c(
            rf"\b(?:(?:new|first|last|latest|newest|next|another)\s+)?(?:client|patient)\s+(?:{_WHEN}|update|cancell?ed|canceled|said|told|asked|"
            r"emailed|texted|rang|called|cried|sent|wrote|brought|turned\s+up|didn't|no[\s\-]*"
            r"show(?:ed)?)\b",
            sentence_start,
            keywords="client* patient*",
            before=20,
        ),
        _c(
            rf"\b{_WHEN}{_APOS}s\s+(?:clients|patients)\s*(?::|included|were|ranged)",
            keywords="client* patient*",
            before=40,
            after=20,
        ),
        # "a new referral today", "home visit this morning"
        _c(
            rf"\b(?:referral|admission|home\s+visit)\s+{_WHEN}\b",
            keywords="referral* admission* visit",
            before=20,
            after=40,
        ),
    ),
    message="reports session content (APA 4.01/4.07, ACA H.6.d)",
    true_positives=(
        "In session today we talked about her mother again.",
        "During a session this morning I almost cried.",
        "Today a client told me I saved her marriage.",
        "My 3pm client cancelled, so here's a long walk.",
        "A patient just confessed something I will never forget.",
        "Long session with Mark about his divorce.",
        "My 10 o'clock just told me she is pregnant.",
        "Today in therapy a client finally laughed.",
        "Tough session with a teenage client today.",
        "Our 8am session was a doozy. He spent 50 minutes on his ex-wife.",
        "My Thursday 4pm is a Year 11 pupil who is terrified of her exams.",
        "She told me in session today that her father wasn't her father.",
        "A little boy in my play therapy room today buried all the toy soldiers.",
        "Client this morning: 28, junior doctor, panic attacks on night shifts.",
        "A new referral today: 14, female, refusing school.",
    ),
    false_positives=(
        "What happens in a first session? A short guide.",
        "Sessions are 50 minutes and can be online.",
        "If a client asks about fees, be direct.",
        "The parliament is in session until June.",
        "Book a session with me via the contact page.",
        "Tough session at the gym today, but my head feels clearer.",
        "Had a lovely session with my own supervisor today.",
        "My therapist told me in our session that I'm allowed to rest.",
        "Patients on the ward love the therapy dog visits on Thursdays.",
        "In clinic today we ran out of flu vaccines by 11am.",
        "Group therapy for social anxiety starts again in September, 6 weekly sessions.",
    ),
)


# -- clinician.testimonial ---------------------------------------------------------------------

_REVIEW = r"(?:reviews?|testimonials?|ratings?|recommendations?|endorsements?)"
_KW_REVIEW = "review* testimonial* rating* rate recommend* endorse* star* 5-star five-star"
#: "I don't ask for reviews", "can't post testimonials": the sentence refuses, not solicits.
_REFUSAL = re.compile(
    r"\b(?:don't|do\s+not|doesn't|does\s+not|didn't|can't|cannot|can\s+not|never|won't|"
    r"shouldn't|mustn't|must\s+not|not\s+allowed|isn't\s+allowed|aren't\s+allowed)\b"
)
#: What makes a sentence about reviews a request: politeness, the asker's gratitude, what a
#: review does for the writer, a conditional "if you enjoyed…", a question to the reader, or
#: an imperative opening the sentence ("Share your experience…", "Spread the word…").
_ASK = re.compile(
    r"\b(?:please|kindly|favou?r|grateful|appreciated?|welcome|wanted|open\s+now|are\s+open|"
    r"(?:i|we)(?:'d|\s+would)\s+(?:really\s+|so\s+|truly\s+)?(?:love|value|appreciate|be)|"
    r"would\s+(?:really\s+)?(?:be|mean|help)|means?\s+(?:a\s+lot|the\s+world|so\s+much)|"
    r"helps?\s+(?:us|me|others?|more|other|someone|people|small|independent|families|keep)|"
    r"could\s+help|makes?\s+(?:a\s+)?(?:huge\s+|big\s+|real\s+)?difference|(?:is|are)\s+gold|"
    r"keeps?\s+(?:[\w\-]+\s+){0,3}alive|every\s+star|takes?\s+(?:\d+|a|one|two|thirty)\s+"
    r"(?:seconds?|minutes?|moment)|if\s+you\s*(?:'ve|have)?\s+(?:enjoyed|found|read|worked|been|"
    r"finished|liked|loved|were\s+happy)|(?:could|would|will|can)\s+(?:you|any|all|past|former|"
    r"current)|link\s+(?:in\s+(?:my\s+)?bio|below)|you\s+know\s+what\s+to\s+do|"
    r"keep\s+them\s+coming)\b"
)
_IMPERATIVE = re.compile(
    r"\s*(?:[\w'\-]+(?:\s+[\w'\-]+)?\s*:\s*)?(?:please\s+)?(?:leave|write|drop|post|give|submit|"
    r"rate|review|tell|share|spread)\b"
)
_SENTENCE = re.compile(r"[.!?]+(?=\s|$)|\n")


def _sentence_of(norm: str, start: int, end: int) -> tuple[int, int]:
    s = 0
    for m in _SENTENCE.finditer(norm, max(0, start - 300), start):
        s = m.end()
    after = _SENTENCE.search(norm, end, min(len(norm), end + 300))
    return s, after.start() if after else min(len(norm), end + 300)


def _not_refused(n: Normalised, m: re.Match[str]) -> bool:
    """Not in a sentence that refuses or forbids reviews ("I don't ask clients for
    testimonials", "please don't leave reviews about me")."""
    s, e = _sentence_of(n.norm, m.start(), m.end())
    return not _REFUSAL.search(n.norm, s, e)


def _asks(n: Normalised, m: re.Match[str]) -> bool:
    """A review noun in a sentence that asks the reader for one (see ``_ASK``)."""
    s, e = _sentence_of(n.norm, m.start(), m.end())
    if _REFUSAL.search(n.norm, s, e):
        return False
    if _ASK.search(n.norm, s, e):
        return True
    imperative = _IMPERATIVE.match(n.norm, s)
    return imperative is not None and imperative.end() <= m.start()


TESTIMONIAL = PackRule(
    id="clinician.testimonial",
    severity="warn",
    summary="solicits reviews or testimonials",
    rationale=(
        "APA 5.05: psychologists do not solicit testimonials from current therapy clients or "
        "others vulnerable to undue influence; a public request for reviews from a "
        "professional account reaches exactly those people."
    ),
    keywords=(
        "review*",
        "testimonial*",
        "rating*",
        "rate",
        "recommend*",
        "endorse*",
        "star*",
        "5-star",
        "five-star",
        "client*",
        "patient*",
        "quotes",
        "words",
        "story",
        "stories",
    ),
    patterns=(
        _c(
            rf"\b(?:leave|write|post|give|submit|share|drop|send)\s+(?:me\s+|us\s+)?"
            rf"(?:a\s+|an\s+|your\s+|some\s+)?(?:(?:quick|short|honest|positive|good|great|kind|"
            rf"5[\s\-]*star|five[\s\-]*star)\s+)*(?:[\w\-]+\s+){{0,2}}?{_REVIEW}\b",
            _not_refused,
            keywords=_KW_REVIEW,
            first=r"(?:leave|write|post|give|submit|share|drop|send)\s",
        ),
        _c(
            r"\b(?:review|rate|recommend|endorse)\s+(?:me|us|my\s+practice|our\s+practice)\s+"
            r"(?:on|at)\s+\w+",
            _not_refused,
            keywords=_KW_REVIEW,
            anchored=True,
        ),
        _c(
            rf"\b{_REVIEW}\s+(?:from|by)\s+(?:my\s+|our\s+|former\s+|current\s+|past\s+)*"
            rf"{_CLIENT}s?\b",
            _not_refused,
            keywords=_KW_REVIEW,
            anchored=True,
        ),
        _c(
            rf"\b{_CLIENT}s?\b[^.!?\n]{{0,60}}?\b(?:{_REVIEW}|5[\s\-]*stars?|five\s+stars?)\b",
            _not_refused,
            keywords=_KW_REVIEW,
        ),
        _c(
            rf"\b{_REVIEW}\s+(?:are\s+|is\s+)?(?:always\s+)?(?:welcome|appreciated|wanted|"
            r"needed|helps?)\b",
            _not_refused,
            keywords=_KW_REVIEW,
            anchored=True,
        ),
        _c(
            rf"\b{_CLIENT}s?\b[^.!?\n]{{0,60}}?\bshare\s+(?:your|their)\s+(?:experiences?|"
            r"stor(?:y|ies)|feedback)\b",
            _not_refused,
            keywords="client* patient*",
        ),
        # "rate us ★★★★★ on Yelp", "rate and review it on Apple Podcasts", "recommend us to a
        # friend", "rate your experience with us"
        _c(
            r"\b(?:rate|review|recommend|endorse)(?:\s+and\s+(?:rate|review))?\s+"
            r"(?:(?:me|us|it|my\s+[\w\-]+|our\s+[\w\-]+)\s+(?:[^\w\s]+\s+)?(?:on|at)\s+\w+|"
            r"(?:me|us)\s+to\s+(?:a\s+|your\s+)?(?:friends?|others|family|colleagues?)|"
            r"your\s+(?:experience|visit|stay|care|session)s?\b)",
            _not_refused,
            keywords="rate review* recommend* endorse*",
            anchored=True,
        ),
        # A review noun (or "a few words", "your story", "quotes") in a sentence that
        # asks for it: "I'd be so grateful for a Google review", "a rating on TES would really
        # help", "please pop a few words on Goodreads", "Share your experience on our reviews
        # page"
        _c(
            r"\b(?:reviews?|ratings?|testimonials?|endorsements?|quotes|"
            r"(?:5|five)[\s\-]*stars?|a\s+few\s+(?:kind\s+)?words|your\s+(?:kind\s+)?words|"
            r"your\s+stor(?:y|ies)|your\s+experiences?)\b",
            _asks,
            keywords=_KW_REVIEW + " quotes words story stories",
            before=300,
            after=300,
        ),
    ),
    message="solicits testimonials/reviews (APA 5.05)",
    true_positives=(
        "If our work together helped, please leave a review on Google!",
        "Review us on Psychology Today.",
        "Looking for testimonials from former clients for the new website.",
        "Clients: a quick 5-star rating helps others find me.",
        "Reviews are always appreciated!",
        "Leave us a 5-star Google review if therapy helped.",
        "Former clients, would you share your experience for my new website?",
        "A rating on Psychology Today would really help us reach more people.",
        "If you enjoyed the course, a few words for my website would be lovely.",
        "Rate and review us on Google, it takes a minute.",
    ),
    false_positives=(
        "I read a review of that book and now I want it.",
        "Peer review is slow but it matters.",
        "Our bees got a glowing rating at the county fair.",
        "Five things I learned from beekeeping.",
        "I never ask clients for reviews; APA 5.05 is clear.",
        "Review week: forty reports to write.",
        "Please don't post reviews of my sessions online.",
    ),
)


# -- clinician.diagnosis -----------------------------------------------------------------------


def _diagnoses(n: Normalised, m: re.Match[str]) -> bool:
    return _dx.diagnosed(n, m.start(), m.end())


DIAGNOSIS = PackRule(
    id="clinician.diagnosis",
    severity="warn",
    summary="diagnoses a named or specific person",
    rationale=(
        "Diagnosing people one has not evaluated (public figures above all) is a professional "
        "ethics violation (the Goldwater rule; APA 9.01 bases for assessments) and, from a "
        "clinician's account, reads as a professional opinion; the ACA social-media tip sheet "
        "advises against it."
    ),
    keywords=(*_dx.KEYWORDS, "diagnos*"),
    # a reference to one person + an attribution + a label (see ``_diagnosis``): the label is
    # the keyword, so a post without one runs nothing of this rule. The structural cases are
    # in tests/guard/test_diagnosis.py: these fixtures also seed test_packs' generated texts
    patterns=(
        _c(
            _dx.LABEL,
            _diagnoses,
            keywords=" ".join(_dx.KEYWORDS),
            before=0,
            after=40,
            anchored=True,
        ),
        _c(
            _dx.DIAGNOSE, _dx.diagnoses_whom, keywords="diagnos*", before=0, after=80, anchored=True
        ),
    ),
    message="diagnoses a specific person (Goldwater rule; ACA social media guidance)",
    true_positives=(
        "Trump is clearly a narcissist.",
        "Elon Musk's a textbook sociopath, honestly.",
        "My ex is a narcissist and everyone knows it.",
        "I'd diagnose Kanye with bipolar disorder from that interview alone.",
        "Honestly Biden is senile.",
        "Classic narcissistic traits from Elon Musk again.",
        "My landlord is delusional if he thinks we are paying that.",
        "Her new boyfriend is an obvious narcissist.",
        "The senator is clearly suffering from dementia.",
    ),
    false_positives=(
        "A narcissist is often charming at first.",
        "Is your partner a narcissist? Signs to look for.",
        "My brother is autistic and he taught me to listen.",
        "Narcissistic personality disorder is rarer than social media suggests.",
        "People with ADHD are not lazy.",
        "He was depressed for a while after the move, he told us on his podcast.",
        "My colleague is autistic and the best data person I know.",
        "If your boss is a narcissist, document everything.",
    ),
)


def _checkin_validate(n: Normalised, m: re.Match[str]) -> bool:
    if "cap" not in (m.re.groupindex or {}):
        return True
    start, end = n.orig_span(*m.span("cap"))
    words = n.orig[start:end].split()
    # "123 Main St": the street name is capitalised (or an ordinal such as 5th).
    return len(words) >= 2 and (words[-1][:1].isupper() or words[1][:1].isupper())


def _named_street(n: Normalised, m: re.Match[str]) -> bool:
    """ "on Station Road", "at Granary Square": the street's name and its kind are written as a
    proper name (every word capitalised or an ordinal such as 5th)."""
    start, end = n.orig_span(m.start("cap"), m.end())
    words = re.findall(r"[\w'’\-]+", n.orig[start:end])
    return bool(words) and all(w[:1].isupper() or w[:1].isdigit() for w in words)


# -- clinician.check-in ------------------------------------------------------------------------

_STREET = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|place|pl|court|ct|"
    r"terrace|parkway|pkwy|highway|hwy|square|sq|plaza|straße|strasse|str)\b\.?"
)
_STREET_WORDS = (
    "street st avenue ave road rd boulevard blvd lane ln drive dr way place pl court ct terrace "
    "parkway pkwy highway hwy square sq plaza straße strasse str row crescent"
)
CHECK_IN = PackRule(
    id="clinician.check-in",
    severity="warn",
    summary="checks in at or pinpoints the office (or another location)",
    rationale=(
        "Location check-ins tell clients browsing an account where the clinician is and when, "
        "and tie a personal account to the practice (ACA H.6.a separation; Kolmes' private "
        "practice social media policy advises against check-ins)."
    ),
    keywords=(
        "check*",
        "checked",
        "\U0001f4cd*",
        "office",
        "practice",
        "clinic",
        "studio",
        *_STREET_WORDS.split(),
    ),
    patterns=(
        _c(
            r"\b(?:checked[\s\-]*in\s*:\s*|(?:checked|checking|just\s+checked|(?:i|we)\s+check)"
            r"[\s\-]*in(?:to\s+|\s+(?:at|to)\s+|\s*@\s*)(?!(?:say|let|ask|see|remind|share|"
            r"update|report|confirm|tell|apologi[sz]e)\b))[^.!?\n,;]{1,60}",
            keywords="check* checked",
            before=12,
            after=100,
        ),
        _c(r"\U0001f4cd\s*[^.!?\n]{1,60}", keywords="\U0001f4cd*", before=0, after=70),
        # "in the car park of the surgery on Station Road", "a corner at Granary Square": a
        # named street (written in full: "St" may be a saint) after a preposition of place
        _c(
            r"\b(?:on|off|at|in|near|behind|opposite)\s+(?P<cap>(?:[\w'’.\-]+\s+){1,3}?)"
            r"(?:street|road|lane|avenue|square|court|terrace|row|crescent|boulevard)\b",
            _named_street,
            keywords="street road lane avenue square court terrace row crescent boulevard",
            before=60,
            after=10,
        ),
        _c(
            r"\b(?:office|practice|clinic|studio)\s+(?:is\s+)?(?:located\s+)?(?:on|at|in|near|"
            r"by|off)\s+(?:the\s+corner\s+of\s+)?(?:[\w'’.\-]+\s+){1,4}?" + _STREET,
            keywords="office practice clinic studio",
            before=0,
            after=140,
            anchored=True,
        ),
        _c(
            r"(?P<cap>\b\d{1,5}\s+(?:[nsew]\.?\s+)?[^\W\d_][\w'’.\-]*(?:\s+[^\W\d_][\w'’.\-]*)?)"
            r"\s+" + _STREET,
            _checkin_validate,
            keywords=_STREET_WORDS,
            before=70,
            after=12,
            first=r"\d{1,5}\s+(?:[nsew]\.?\s+)?[^\W\d_]",
            requires=NEEDS_DIGIT,
        ),
    ),
    message="reveals a location (check-in / street address)",
    true_positives=(
        "At the office on 5th Street early today.",
        "Checked in at Harbor Coffee before my first appointment.",
        "📍 Portland, OR",
        "Our office is at 1200 Maple Avenue, suite 3.",
        "Eating lunch on a bench in Victoria Square between appointments.",
        "Just checked into the Travelodge for the conference.",
    ),
    false_positives=(
        "I walked 3 blocks down the street and felt better.",
        "Checking in with yourself is a skill.",
        "5 ways to rest when the office is loud.",
        "The office is closed on Monday.",
        "Just checking in to remind you the newsletter moved.",
        "We live on a quiet road near the sea.",
    ),
)


#: The pack's rules, in reporting order.
RULES: tuple[PackRule, ...] = (
    CLIENT_DISCLOSURE,
    SESSION_CONTENT,
    TESTIMONIAL,
    DIAGNOSIS,
    CHECK_IN,
)
