"""Routing: a post may only go to its own persona's accounts.

This is the classic dashboard accident (a personal post sent from the brand account), so it is
refused outright and no ``--allow`` can lift it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .findings import Finding


def check_routing(persona: str, targets: Iterable[str], owners: Mapping[str, str]) -> list[Finding]:
    """``owners`` maps every account name of every persona to its persona."""
    findings = []
    for target in targets:
        if target == "blog":
            continue
        owner = owners.get(target)
        if owner is not None and owner != persona:
            findings.append(
                Finding(
                    rule="routing",
                    severity="block",
                    match=target,
                    start=0,
                    end=0,
                    field="to",
                    owner=owner,
                    message=(
                        f"account '{target}' belongs to persona '{owner}', not '{persona}': "
                        f"a post of '{persona}' can only go to its own accounts "
                        "(no override exists for routing)"
                    ),
                )
            )
    return findings
