"""Every rule the content guard can report, with its default severity.

``--allow RULE`` matches a rule id or a dotted prefix (``--allow clinician`` covers every
``clinician.*`` rule). Severities can be changed per persona (``[guard] rules`` in the persona
file, ``GuardProfile.severity`` here), except that the identity, never-mention and confidential
rules cannot be lowered below ``block`` (and routing, checked elsewhere, is never overridable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .packs import PACK_RULES


@dataclass(frozen=True)
class RuleInfo:
    id: str
    severity: str
    summary: str


CORE_RULES: dict[str, RuleInfo] = {
    r.id: r
    for r in (
        RuleInfo("identity", "block", "another persona's name, handle, domain, email, phone, term"),
        RuleInfo("identity.surname", "warn", "a distinctive surname of another persona or client"),
        RuleInfo("never-mention", "block", "one of the posting persona's own never_mention terms"),
        RuleInfo("confidential", "block", "a confidential (client) identifier of any persona"),
        RuleInfo("media-metadata", "block", "GPS, camera serial or owner names in an image"),
        RuleInfo("near-duplicate", "block", "nearly the same text as another persona's post"),
        RuleInfo("separation", "block", "scheduled too close to another persona's post"),
        RuleInfo("media.same-image", "block", "the same photo as another persona's post"),
        RuleInfo("fingerprint.rhythm", "warn", "posting at the same times of day as another"),
        RuleInfo(
            "fingerprint.session-hours", "warn", "about a session, right after an appointment"
        ),
    )
}

RULES: dict[str, RuleInfo] = {
    **CORE_RULES,
    **{rid: RuleInfo(rid, r.severity, r.summary) for rid, r in PACK_RULES.items()},
}

#: Rules whose severity a persona cannot lower.
LOCKED = frozenset({"identity", "never-mention", "confidential", "routing"})


def effective_severity(rule: str, default: str, overrides: Mapping[str, str]) -> str:
    """Most specific override (``clinician.testimonial`` before ``clinician``) or ``default``.

    Returns ``"off"`` when the persona switched the rule off.
    """
    if overrides:
        key = rule
        while True:
            if key in overrides:
                value = overrides[key]
                if rule in LOCKED and value != "block":
                    return "block"
                return value
            if "." not in key:
                break
            key = key.rsplit(".", 1)[0]
    return default
