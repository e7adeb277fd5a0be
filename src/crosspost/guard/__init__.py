"""The leak guard: nothing of one persona may be published under another.

Pure functions (no I/O, except :mod:`.media`, which reads and writes image files)::

    matcher = build_matcher(profiles, secret=key)          # expensive: cache per configuration
    findings = check_content(matcher, "professional", [TextField("body", text), ...])
    findings += check_correlation(matcher, "professional", text, when, recent_posts)
    findings += check_rhythm("professional", when, all_posts, now, severity_overrides)
    findings += check_media(profile, [("media[0]", path)])
    findings += check_session_hours(fields, when, appointments, severity_overrides)
    report = Report("professional", tuple(findings)).with_allowances({"clinician": "reason"})

Rules and their rationale are documented in ``docs/guard.md``.
"""

from __future__ import annotations

from .confidential import hash_confidential
from .correlation import RecentPost, check_correlation
from .findings import UNOVERRIDABLE, Finding, Report, Severity, rule_matches
from .matcher import Matcher, TextField, build_matcher, check_content
from .packs import PACK_RULES, PACKS
from .profile import AccountRef, FrozenMap, GuardProfile, parse_duration
from .rhythm import check_rhythm
from .routing import check_routing
from .rules import RULES, RuleInfo
from .sessionhours import Appointment, check_session_hours

__all__ = [
    "PACKS",
    "PACK_RULES",
    "RULES",
    "UNOVERRIDABLE",
    "AccountRef",
    "Appointment",
    "Finding",
    "FrozenMap",
    "GuardProfile",
    "Matcher",
    "RecentPost",
    "Report",
    "RuleInfo",
    "Severity",
    "TextField",
    "build_matcher",
    "check_content",
    "check_correlation",
    "check_rhythm",
    "check_routing",
    "check_session_hours",
    "hash_confidential",
    "parse_duration",
    "rule_matches",
]
