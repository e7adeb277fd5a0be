"""Precision and recall of ``fingerprint.session-hours`` on the clinician corpus.

``python benchmarks/session_hours_corpus.py``

Every post of ``tests/data/clinician/disclosures.txt`` (each about a particular client or
session) and of ``innocent.txt`` (about the practice in general) is checked as if scheduled
an hour after an appointment of the practice calendar: the disclosures should warn, the
innocent posts should not. The same posts two days after the appointment must never warn
(the rule is about the hours, not the words).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the clinician corpus's reader
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from clinician_corpus import Figures as CorpusFigures
from clinician_corpus import load

from crosspost.guard import Appointment, TextField, check_session_hours

START = datetime(2026, 5, 12, 15, 0, tzinfo=UTC)
APPOINTMENT = Appointment(START, START + timedelta(minutes=50))


def warns(text: str, at: datetime) -> bool:
    return bool(check_session_hours([TextField("body", text)], at, [APPOINTMENT], {}))


@dataclass(frozen=True)
class Figures(CorpusFigures):
    """The corpus's figures an hour after an appointment, and the warnings two days later."""

    warned_days_later: int


def measure() -> Figures:
    soon = APPOINTMENT.end + timedelta(hours=1)
    later = APPOINTMENT.end + timedelta(days=2)
    disclosures, innocent = load("disclosures.txt"), load("innocent.txt")
    return Figures(
        disclosures=len(disclosures),
        warned_disclosures=sum(warns(t, soon) for t in disclosures),
        innocent=len(innocent),
        warned_innocent=sum(warns(t, soon) for t in innocent),
        warned_days_later=sum(warns(t, later) for t in disclosures + innocent),
    )


def main() -> None:
    f = measure()
    print(
        f"disclosures an hour after an appointment: {f.warned_disclosures}/{f.disclosures} "
        f"warn (recall {f.recall:.3f})"
    )
    print(f"innocent posts then: {f.warned_innocent}/{f.innocent} warn")
    print(f"precision {f.precision:.3f}; any post two days later: {f.warned_days_later} warn")


if __name__ == "__main__":
    main()
