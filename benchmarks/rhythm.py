"""How often ``fingerprint.rhythm`` warns on simulated schedules.

``python benchmarks/rhythm.py [TRIALS]``

There is no record of real personas' posting times in the repository, so schedules are
simulated: each persona has two habitual posting times (drawn between 07:00 and 22:00 UTC),
posts once a day for 30 days at one of them, each post moved by up to ±20 minutes. A new
post of P at one of P's times is then checked against Q's schedule.

* *independent*: P's and Q's habits are drawn independently — two people who happen to
  share a timezone. A warning here is a false alarm.
* *shared slot*: P and Q both use one of their two times in common (the same scheduler
  slot), as two personas of one person posting from one queue would. A warning here is
  what the rule is for; a new post at P's other time is, by design, not warned about (the
  rule warns about what the user can still move), so the figure for new posts in the
  shared slot is given too.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from crosspost.guard import RecentPost, check_rhythm

START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 30


def _habits(rng: random.Random) -> list[int]:
    return [rng.randrange(7 * 60, 22 * 60) for _ in range(2)]


def _posts(rng: random.Random, persona: str, habits: list[int]) -> list[RecentPost]:
    out = []
    for day in range(DAYS):
        minute = rng.choice(habits) + rng.randrange(-20, 21)
        at = START + timedelta(days=day, minutes=minute)
        out.append(RecentPost(persona, len(out) + 1, "", at))
    return out


def trial(rng: random.Random, shared: bool, at_shared: bool = False) -> bool:
    p_habits = _habits(rng)
    q_habits = _habits(rng)
    if shared:
        q_habits[0] = p_habits[0]
    posts = _posts(rng, "p", p_habits) + _posts(rng, "q", q_habits)
    minute = p_habits[0] if at_shared else rng.choice(p_habits)
    at = START + timedelta(days=DAYS, minutes=minute)
    now = START + timedelta(days=DAYS - 1)
    return bool(check_rhythm("p", at, posts, now, {}))


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = random.Random(7)
    false = sum(trial(rng, shared=False) for _ in range(trials))
    found = sum(trial(rng, shared=True) for _ in range(trials))
    at_shared = sum(trial(rng, shared=True, at_shared=True) for _ in range(trials))
    print(f"independent habits: {false}/{trials} warn ({false / trials:.1%}, false alarms)")
    print(f"one shared slot:    {found}/{trials} warn ({found / trials:.1%})")
    print(
        f"  the new post in the shared slot: {at_shared}/{trials} warn ({at_shared / trials:.1%})"
    )
    if found + false:
        print(f"precision at equal numbers of both: {found / (found + false):.3f}")


if __name__ == "__main__":
    main()
