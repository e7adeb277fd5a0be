"""Precision and recall of the ``clinician`` pack on the corpus in ``tests/data/clinician/``.

``python benchmarks/clinician_corpus.py [--show]``

``disclosures.txt`` holds posts that disclose a specific client/patient (each should warn),
``innocent.txt`` posts a clinician's account makes every day (none should warn). A post
"warns" when any ``clinician.*`` rule reports a finding. Every 5th post of each file (the
5th, 10th, …) is the held-out split: it was written with the rest, before the rules were
tuned, and is only ever evaluated — ``--show`` lists the misses and false alarms of the
development split only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from crosspost.guard import GuardProfile, TextField, build_matcher, check_content

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "clinician"
HELD_OUT_EVERY = 5


def load(name: str) -> list[str]:
    """The posts of one corpus file (comments and blank lines skipped)."""
    lines = (DATA / name).read_text("utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def held_out(index: int) -> bool:
    return index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


@dataclass(frozen=True)
class Figures:
    disclosures: int
    warned_disclosures: int
    innocent: int
    warned_innocent: int

    @property
    def recall(self) -> float:
        return self.warned_disclosures / self.disclosures

    @property
    def false_alarm_rate(self) -> float:
        return self.warned_innocent / self.innocent

    @property
    def precision(self) -> float:
        warned = self.warned_disclosures + self.warned_innocent
        return self.warned_disclosures / warned if warned else 1.0


def warns(text: str) -> bool:
    findings = check_content(_MATCHER, "clinician", [TextField("body", text)])
    return any(f.rule.startswith("clinician.") for f in findings)


_MATCHER = build_matcher([GuardProfile(name="clinician", packs=("clinician",))])


def figures(split: str = "all") -> Figures:
    """``split``: ``all``, ``dev`` (4 in 5 posts) or ``held-out`` (every 5th)."""

    def pick(posts: list[str]) -> list[str]:
        if split == "all":
            return posts
        want = split == "held-out"
        return [p for i, p in enumerate(posts) if held_out(i) == want]

    dis = pick(load("disclosures.txt"))
    inn = pick(load("innocent.txt"))
    return Figures(len(dis), sum(warns(p) for p in dis), len(inn), sum(warns(p) for p in inn))


def rules_warning(text: str) -> set[str]:
    findings = check_content(_MATCHER, "clinician", [TextField("body", text)])
    return {f.rule for f in findings if f.rule.startswith("clinician.")}


def per_rule() -> dict[str, tuple[int, int]]:
    """``rule -> (disclosures it warns, innocent posts it warns)`` over the whole corpus; every
    rule of the pack is listed, also one that never fires."""
    from crosspost.guard.packs import PACKS

    out = {r.id: (0, 0) for r in PACKS["clinician"]}
    for post in load("disclosures.txt"):
        for rule in rules_warning(post):
            hits, fa = out.get(rule, (0, 0))
            out[rule] = (hits + 1, fa)
    for post in load("innocent.txt"):
        for rule in rules_warning(post):
            hits, fa = out.get(rule, (0, 0))
            out[rule] = (hits, fa + 1)
    return out


def main() -> None:
    print("| split | disclosures warned (recall) | innocent posts warned | precision |")
    print("|---|---:|---:|---:|")
    for split in ("all", "dev", "held-out"):
        f = figures(split)
        print(
            f"| {split} | {f.warned_disclosures}/{f.disclosures} ({f.recall:.1%}) "
            f"| {f.warned_innocent}/{f.innocent} ({f.false_alarm_rate:.1%}) "
            f"| {f.precision:.1%} |"
        )
    print("\nper rule (all posts; a post may be warned by several rules):\n")
    print("| rule | disclosures it warns | innocent posts it warns | precision |")
    print("|---|---:|---:|---:|")
    for rule, (hits, false_alarms) in sorted(per_rule().items()):
        fired = hits + false_alarms
        precision = f"{hits / fired:.1%}" if fired else "—"
        total = len(load("disclosures.txt"))
        print(f"| `{rule}` | {hits}/{total} ({hits / total:.1%}) | {false_alarms} | {precision} |")
    if "--show" in sys.argv:  # development split only: the held-out posts stay unseen
        dis = [p for i, p in enumerate(load("disclosures.txt")) if not held_out(i)]
        inn = [p for i, p in enumerate(load("innocent.txt")) if not held_out(i)]
        print("\nmissed disclosures (dev):")
        for p in dis:
            if not warns(p):
                print("  -", p)
        print("\nfalse alarms (dev):")
        for p in inn:
            for f in check_content(_MATCHER, "clinician", [TextField("body", p)]):
                print(f"  - {f.rule}: {f.match!r} in {p}")


if __name__ == "__main__":
    main()
