"""Rule packs: heuristic phrase rules a persona opts into (``packs = ["clinician"]``).

The package is split so that a pack is one module of rules: :mod:`.engine` says how a rule is
written and run, :mod:`.clinician` (and any future pack) holds the rules, :mod:`.registry`
lists the packs, :mod:`.scan` runs a whole pack with one keyword automaton. The names the
matcher, the rule table and the audit log use are re-exported here, so they import from
``crosspost.guard.packs`` whatever module a name lives in.
"""

from __future__ import annotations

from .engine import NEEDS_DIGIT, Facts, Gate, PackRule, Pattern, Validator, requires_met
from .registry import PACK_RULES, PACKS
from .scan import (
    KeywordCandidates,
    KeywordProbe,
    canon_keyword_keys,
    confirm_keyword_hits,
    literal_keywords,
    pack_keyword_hits,
    scan_pack,
)

__all__ = [
    "NEEDS_DIGIT",
    "PACKS",
    "PACK_RULES",
    "Facts",
    "Gate",
    "KeywordCandidates",
    "KeywordProbe",
    "PackRule",
    "Pattern",
    "Validator",
    "canon_keyword_keys",
    "confirm_keyword_hits",
    "literal_keywords",
    "pack_keyword_hits",
    "requires_met",
    "scan_pack",
]
