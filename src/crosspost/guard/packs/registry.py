"""Which rule packs exist: a persona opts into one by name (``packs = ["clinician"]``).

A new pack is a module of ``PackRule``s next to :mod:`.clinician` and one entry here; nothing
else in the guard names a pack.
"""

from __future__ import annotations

from . import clinician
from .engine import PackRule

#: The rules of each pack, in reporting order.
PACKS: dict[str, tuple[PackRule, ...]] = {
    "clinician": clinician.RULES,
}

#: Documented rules (one entry per id).
PACK_RULES: dict[str, PackRule] = {r.id: r for rules in PACKS.values() for r in rules}
