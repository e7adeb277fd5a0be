"""Recurring posts: ``--every`` as an RFC 5545 rule, and its occurrences in local time.

A rule is kept with the persona-local wall time of its first occurrence and the persona's
timezone, and every occurrence is computed as a wall time first, then converted to UTC: a
weekly 09:00 Europe/London stays 09:00 in London on both sides of a DST change (a rule over
UTC instants would drift by an hour twice a year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from .durations import parse_duration
from .errors import UsageError
from .when import localize, parse_when

#: what ``--every`` says, for messages
EVERY_FORMS = "'1d', '2w', '1mo', 'weekly', or an RRULE like 'FREQ=WEEKLY;BYDAY=MO,TH'"

_WORDS = {
    "daily": (DAILY, 1),
    "weekly": (WEEKLY, 1),
    "fortnightly": (WEEKLY, 2),
    "monthly": (MONTHLY, 1),
    "yearly": (YEARLY, 1),
}
_UNITS = {
    "w": WEEKLY,
    "wk": WEEKLY,
    "week": WEEKLY,
    "weeks": WEEKLY,
    "mo": MONTHLY,
    "month": MONTHLY,
    "months": MONTHLY,
    "y": YEARLY,
    "year": YEARLY,
    "years": YEARLY,
}
_COUNTED = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$", re.IGNORECASE)
_NAMES = {DAILY: "day", WEEKLY: "week", MONTHLY: "month", YEARLY: "year"}
_FREQ = {DAILY: "DAILY", WEEKLY: "WEEKLY", MONTHLY: "MONTHLY", YEARLY: "YEARLY"}
#: RRULE parts a rule given on the command line may not carry: the start is ``--at``
_REFUSED_PARTS = ("DTSTART", "RDATE", "EXDATE", "EXRULE")


def _bad(value: str, why: str) -> UsageError:
    return UsageError(f"--every {value!r}: {why}", hint=f"write it like {EVERY_FORMS}")


def parse_every(value: str) -> str:
    """The RRULE (without start, end or count) that ``--every VALUE`` means.

    Durations are read by :mod:`crosspost.durations` ("3d"), plus weeks ("2w"), months
    ("1mo") and years; a rule must repeat at most once a day, since a persona's posting
    rhythm is itself a fingerprint the guard watches.
    """
    text = value.strip()
    if not text:
        raise _bad(value, "it is empty")
    if "=" in text:
        return _rrule_text(value)
    word = _WORDS.get(text.lower())
    if word is not None:
        return _body(*word)
    m = _COUNTED.match(text)
    if m and m.group(2).lower() in _UNITS:
        n = int(m.group(1))
        if n < 1:
            raise _bad(value, "the interval must be at least 1")
        return _body(_UNITS[m.group(2).lower()], n)
    try:
        span = parse_duration(text)
    except ValueError:
        raise _bad(value, "not a repeat interval") from None
    days, rest = divmod(span, timedelta(days=1))
    if rest or days < 1:
        raise _bad(value, "a post can repeat at most once a day, in whole days")
    return _body(DAILY, days)


def _body(freq: int, interval: int) -> str:
    body = f"FREQ={_FREQ[freq]}"
    return body if interval == 1 else f"{body};INTERVAL={interval}"


def _rrule_text(value: str) -> str:
    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    parts = [p.strip() for p in text.split(";") if p.strip()]
    names = [p.split("=", 1)[0].upper() for p in parts]
    for refused in _REFUSED_PARTS:
        if refused in names:
            raise _bad(value, f"{refused} is not taken here (the first time is --at)")
    for counted in ("UNTIL", "COUNT"):
        if counted in names:
            raise _bad(value, f"give the end as --{counted.lower()}, not in the rule")
    body = ";".join(parts)
    interval = _parts(body).get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        # dateutil takes 0 or a negative number, then fails or never returns on the first
        # step, which comes only when the first post has gone out
        raise _bad(value, "INTERVAL must be a whole number of at least 1")
    try:
        # rules run on wall times (naive on purpose): a first time only to check the rule
        rule = rrulestr(body, dtstart=datetime(2000, 1, 1))  # noqa: DTZ001
    except (ValueError, TypeError) as e:
        raise _bad(value, f"not a valid RRULE ({e})") from None
    if not isinstance(rule, rrule):
        raise _bad(value, "give one rule")
    try:
        first = next(iter(rule), None)
    except (ValueError, OverflowError) as e:
        raise _bad(value, f"not a valid RRULE ({e})") from None
    if first is None:
        raise _bad(value, "the rule never happens (no date matches all of its parts)")
    named = _parts(body)
    if named.get("FREQ") not in _FREQ.values():  # HOURLY, MINUTELY, SECONDLY
        raise _bad(value, "a post can repeat at most once a day (FREQ=DAILY or longer)")
    for many in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        if "," in named.get(many, ""):
            raise _bad(value, f"a post can repeat at most once a day (one {many})")
    return body


def _parts(body: str) -> dict[str, str]:
    out = {}
    for part in body.upper().replace(" ", "").split(";"):
        if "=" in part:
            name, _, val = part.partition("=")
            out[name] = val
    return out


def parse_until(value: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The persona-local wall time a series ends at (inclusive): a day alone means the end
    of that day."""
    text = value.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        when = parse_when(text, tz, now).utc
        return when.astimezone(tz).replace(tzinfo=None)
    return datetime.combine(day, time(23, 59, 59))


def with_end(body: str, until_local: datetime | None, count: int | None) -> str:
    """``body`` ended by a local wall time or a number of occurrences (the first counts)."""
    if until_local is not None and count is not None:
        raise UsageError("give either --until or --count, not both")
    if count is not None:
        if count < 1:
            raise UsageError("--count must be at least 1", hint="the first post counts as one")
        return f"{body};COUNT={count}"
    if until_local is not None:
        return f"{body};UNTIL={until_local:%Y%m%dT%H%M%S}"
    return body


@dataclass(frozen=True)
class Rule:
    """A series' rule as stored: the RRULE, the first wall time, the timezone."""

    rule: str
    dtstart: datetime  # naive: a wall time in ``timezone``
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def rrule(self) -> rrule:
        parsed = rrulestr(self.rule, dtstart=self.dtstart)
        assert isinstance(parsed, rrule)
        return parsed

    def next_after(self, after: datetime) -> datetime | None:
        """The first occurrence strictly after the aware instant ``after``, in UTC; None
        once the rule has ended."""
        tz = self.tz
        local = after.astimezone(tz).replace(tzinfo=None)
        nxt = self.rrule().after(local, inc=False)
        if nxt is None:
            return None
        return localize(nxt, tz).utc

    def describe(self, *, at: bool = True) -> str:
        """ "every 2 weeks at 09:00 Europe/London until 2027-03-01", "every day …, 5 times";
        a rule with more parts than a frequency and an interval is shown as it is."""
        named = _parts(self.rule)
        freq = {v: k for k, v in _FREQ.items()}.get(named.get("FREQ", ""))
        interval = int(named.get("INTERVAL", "1"))
        extra = set(named) - {"FREQ", "INTERVAL", "UNTIL", "COUNT"}
        if extra or freq is None:
            out = f"rule {self.rule}"
        else:
            name = _NAMES[freq]
            out = f"every {name}" if interval == 1 else f"every {interval} {name}s"
        if at:
            out += f" at {self.dtstart:%H:%M} {self.timezone}"
        if "UNTIL" in named:
            until = datetime.strptime(named["UNTIL"], "%Y%m%dT%H%M%S")  # noqa: DTZ007 (wall time)
            shown = (
                f"{until:%Y-%m-%d}"
                if until.time() == time(23, 59, 59)
                else f"{until:%Y-%m-%d %H:%M}"
            )
            out += f" until {shown}"
        if "COUNT" in named:
            out += f", {named['COUNT']} times"
        return out
