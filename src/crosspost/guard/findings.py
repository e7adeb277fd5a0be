"""What the guard reports.

Findings are plain frozen dataclasses so the publisher can compare and log them cheaply and the
CLI can turn them into the JSON contract (`rule`, `severity`, `match`, `start`, `end`, `message`)
without knowing how each rule works.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

Severity = Literal["block", "warn"]

#: Rules that can never be overridden with ``--allow``.
UNOVERRIDABLE = frozenset({"routing"})


@dataclass(frozen=True)
class Finding:
    """One thing the guard objects to.

    ``start``/``end`` are character offsets into ``field``'s text as given to the guard; the
    entry layer translates them into offsets of the checked file.
    """

    rule: str
    severity: Severity
    match: str
    start: int
    end: int
    message: str
    field: str = "body"
    #: persona whose identity leaked, when the rule is about another persona
    owner: str | None = None
    #: set when the finding was overridden with ``--allow``; it then no longer blocks
    allowed_reason: str | None = None

    @property
    def blocks(self) -> bool:
        return self.severity == "block" and self.allowed_reason is None

    def to_json(self, detail: bool = False) -> dict[str, object]:
        """The spec's six keys; ``detail`` adds ``field`` and ``allowed`` (preview, queue)."""
        out: dict[str, object] = {
            "rule": self.rule,
            "severity": self.severity,
            "match": self.match,
            "start": self.start,
            "end": self.end,
            "message": self.message,
        }
        if detail:
            out["field"] = self.field
            if self.allowed_reason is not None:
                out["allowed"] = self.allowed_reason
        return out


def rule_matches(pattern: str, rule: str) -> bool:
    """``--allow identity`` covers ``identity`` and every ``identity.*`` sub-rule."""
    return rule == pattern or rule.startswith(pattern + ".")


@dataclass(frozen=True)
class Report:
    persona: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def blocked(self) -> bool:
        return any(f.blocks for f in self.findings)

    def with_allowances(self, allow: Mapping[str, str]) -> Report:
        """Mark findings covered by ``--allow RULE --reason TEXT``; routing is never covered."""
        if not allow:
            return self
        out = []
        for f in self.findings:
            reason = next((r for pat, r in allow.items() if rule_matches(pat, f.rule)), None)
            if reason is not None and f.rule not in UNOVERRIDABLE and f.severity == "block":
                f = replace(f, allowed_reason=reason)
            out.append(f)
        return Report(self.persona, tuple(out))

    def merged(self, more: Iterable[Finding]) -> Report:
        return Report(self.persona, self.findings + tuple(more))

    def to_json(self, detail: bool = False) -> dict[str, object]:
        """``crosspost check --format json``: exactly the contract's keys unless ``detail``."""
        return {
            "persona": self.persona,
            "blocked": self.blocked,
            "findings": [f.to_json(detail) for f in self.findings],
        }
