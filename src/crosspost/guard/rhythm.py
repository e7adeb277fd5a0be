"""``fingerprint.rhythm``: two personas that post at the same time of day, day after day.

No single post gives this away; the habit does. Someone who lines up two accounts' posting
times sees both go out around 08:30 (UTC, as the servers record it) on most days, and that
shared rhythm is a link even when every text is different and every post respects the
separation window (which is measured in minutes between posts, not across days).

The statistic, for a post of persona P at time ``t`` (or P's schedule as it stands when there
is no time yet) and each other persona Q:

* each persona's *sample* is its ``SAMPLE`` (20) posts nearest to ``t`` among those scheduled
  in the correlation window (queued, held or published), plus the new post for P;
* two posts *coincide* when their UTC times of day are within ``TOLERANCE`` (15 minutes) of
  each other, on whatever days they fall (times near midnight wrap around);
* the rhythms *converge* when at least ``SHARE`` (half) of P's sample coincides with some post
  of Q's, those coinciding posts of P fall on at least ``MIN_DAYS`` (3) distinct days, Q's
  posts that coincide with P's do too, and — when there is a new post — the new post itself
  coincides with Q's (so the warning is about something the user can still move).

A persona that posts at 08:30 and another at 17:00 never converge; two that both use a 09:00
slot on weekdays do after three days, and the finding says at which time of day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from .correlation import RecentPost
from .findings import Finding
from .rules import effective_severity

TOLERANCE = timedelta(minutes=15)
SAMPLE = 20
SHARE = 0.5
MIN_DAYS = 3
RULE = "fingerprint.rhythm"
_DAY = 24 * 60


def _minute(t: datetime) -> int:
    u = t.astimezone(UTC)
    return u.hour * 60 + u.minute


def _close(a: datetime, b: datetime) -> bool:
    d = abs(_minute(a) - _minute(b))
    return min(d, _DAY - d) <= TOLERANCE.total_seconds() // 60


def _sample(times: Sequence[datetime], ref: datetime) -> list[datetime]:
    return sorted(times, key=lambda t: abs(t - ref))[:SAMPLE]


def check_rhythm(
    persona: str,
    at: datetime | None,
    posts: Sequence[RecentPost],
    now: datetime,
    overrides: Mapping[str, str],
    *,
    fmt_time: Callable[[datetime], str] = lambda t: t.strftime("%H:%M UTC"),
) -> list[Finding]:
    """Findings for ``persona``'s rhythm against every other persona in ``posts`` (all of
    them, the persona's own included, UTC-aware); ``at`` is the new post's time, if any."""
    severity = effective_severity(RULE, "warn", overrides)
    if severity == "off":
        return []
    ref = at or now
    own = _sample([p.at for p in posts if p.persona == persona], ref)
    if at is not None:
        own = [*own[: SAMPLE - 1], at]
    by_persona: dict[str, list[datetime]] = {}
    for p in posts:
        if p.persona != persona:
            by_persona.setdefault(p.persona, []).append(p.at)
    findings = []
    for other, times in sorted(by_persona.items()):
        theirs = _sample(times, ref)
        if at is not None and not any(_close(at, u) for u in theirs):
            continue
        mine = [t for t in own if any(_close(t, u) for u in theirs)]
        matched = [u for u in theirs if any(_close(t, u) for t in own)]
        my_days = {t.astimezone(UTC).date() for t in mine}
        their_days = {u.astimezone(UTC).date() for u in matched}
        if (
            not own
            or len(mine) / len(own) < SHARE
            or len(my_days) < MIN_DAYS
            or len(their_days) < MIN_DAYS
        ):
            continue
        around = fmt_time(at if at is not None else mine[0])
        findings.append(
            Finding(
                rule=RULE,
                severity=severity,  # type: ignore[arg-type]
                match=(at or mine[0]).isoformat(),
                start=0,
                end=0,
                field="at",
                owner=other,
                message=(
                    f"{len(mine)} of this persona's {len(own)} recent and queued posts go out "
                    f"within {int(TOLERANCE.total_seconds() // 60)} minutes of the time of day "
                    f"of persona '{other}''s posts on {len(their_days)} days (around "
                    f"{around}): a shared posting rhythm links accounts; give one persona "
                    "other slots (slot_jitter only blurs the minute)"
                ),
            )
        )
    return findings
