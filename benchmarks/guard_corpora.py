"""Measured recall and false alarms of every guard rule, on the project's own corpora.

``python benchmarks/guard_corpora.py [--quick]``

One table for every rule of the Rules table in ``docs/guard.md``. What each row is measured on:

* ``identity``, ``never-mention``, ``confidential``: the case tables of
  ``tests/guard/fixtures.toml`` (cases that must fire, cases that must not) with the personas
  of ``tests/guard/conftest.py``, plus every post of ``tests/guard/innocent_posts.txt`` checked
  as either persona (negatives); names as people write them: ``tests/guard/names.toml``
  (``block`` cases are positives, ``none``/``no-block``/``warn`` cases negatives, a block
  counting), plus the innocent posts as each of its personas;
* ``identity.surname``: the ``warn`` cases of ``names.toml`` against its ``none`` cases and
  the innocent posts;
* ``routing``: every account of the fixture personas as the target of a post of every persona
  (another persona's account must be refused, an own account or the blog must not);
* the ``clinician`` pack: ``tests/data/clinician/`` (disclosures against innocent posts;
  ``client-disclosure`` and ``session-content`` share the disclosures, so their recall is
  their share) and ``tests/data/guard/<rule>.fire.txt`` / ``<rule>.innocent.txt`` for
  ``check-in``, ``diagnosis`` (and a second diagnosis set, ``diagnosis2.*``), ``testimonial``;
  "other corpora" rows count a rule's findings
  on every post of the other corpus files (none of which was written to fire it). Every 5th
  post of a corpus file is the held-out split (never used to tune a rule);
* ``near-duplicate``: the near-duplicate and different texts of
  ``tests/guard/test_correlation.py``; ``separation``: a post of the other persona every 5
  minutes from 90 minutes before to 90 after (inside the 45-minute window must fire);
* ``media-metadata``: small images written here with Pillow, each with one kind of
  identifying metadata, against the same images clean or with only technical tags;
* ``media.same-image``, ``fingerprint.rhythm``, ``fingerprint.session-hours``: the generated
  and simulated sets of ``benchmarks/same_image.py``, ``rhythm.py`` and
  ``session_hours_corpus.py`` (``--quick``: 20 pictures and 500 trials instead of 60 and 2,000).

Precision is positives found / everything flagged on that row: it depends on how many
negatives a row has, so read it with the false-alarm column.
"""

from __future__ import annotations

import random
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other benchmarks' sets
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.guard: fixture personas
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from PIL import ExifTags, Image, PngImagePlugin

from crosspost.guard import (
    GuardProfile,
    Matcher,
    RecentPost,
    TextField,
    build_matcher,
    check_content,
    check_correlation,
)
from crosspost.guard.media import check_media
from crosspost.guard.packs import PACKS
from crosspost.guard.routing import check_routing

ROOT = Path(__file__).resolve().parents[1]
GUARD_TESTS = ROOT / "tests" / "guard"
CLINICIAN = ROOT / "tests" / "data" / "clinician"
CORPORA = ROOT / "tests" / "data" / "guard"
NEW_RULES = ("check-in", "diagnosis", "testimonial")
#: each rule's corpus files (``<stem>.fire.txt`` / ``<stem>.innocent.txt``): ``diagnosis2`` is a
#: second, independent set written before the structural diagnosis rule
STEMS: dict[str, tuple[str, ...]] = {
    "check-in": ("check-in",),
    "diagnosis": ("diagnosis", "diagnosis2"),
    "testimonial": ("testimonial",),
}
HELD_OUT_EVERY = 5


@dataclass(frozen=True)
class Row:
    rule: str
    source: str
    split: str
    found: int
    positives: int
    flagged: int
    negatives: int

    def cells(self) -> list[str]:
        def share(a: int, b: int) -> str:
            return f"{a}/{b} ({a / b:.1%})" if b else "—"

        fired = self.found + self.flagged
        precision = f"{self.found / fired:.1%}" if fired and self.positives else "—"
        return [
            f"`{self.rule}`",
            self.source,
            self.split,
            share(self.found, self.positives),
            share(self.flagged, self.negatives),
            precision,
        ]


def lines(path: Path) -> list[str]:
    """The posts of a corpus file (comments and blank lines skipped)."""
    text = path.read_text("utf-8").splitlines()
    return [line for line in text if line.strip() and not line.startswith("#")]


def held_out(posts: list[str]) -> list[str]:
    return posts[HELD_OUT_EVERY - 1 :: HELD_OUT_EVERY]


def rules_of(matcher: Matcher, persona: str, text: str, *, blocking: bool = False) -> set[str]:
    found = check_content(matcher, persona, [TextField("body", text)])
    return {f.rule for f in found if f.blocks or not blocking}


# -- identity, never-mention, confidential, identity.surname ----------------------------------


def content_rows() -> list[Row]:
    from tests.guard.conftest import SECRET, make_profiles

    matcher = build_matcher(make_profiles(), secret=SECRET)
    cases = tomllib.loads((GUARD_TESTS / "fixtures.toml").read_text("utf-8"))["case"]
    innocent = lines(GUARD_TESTS / "innocent_posts.txt")
    rows = []
    for rule in ("identity", "never-mention", "confidential"):
        pos = [c for c in cases if c["rule"] == rule and c["expect"]]
        neg = [c for c in cases if c["rule"] == rule and not c["expect"]]
        found = sum(rule in rules_of(matcher, c["persona"], c["text"]) for c in pos)
        flagged = sum(rule in rules_of(matcher, c["persona"], c["text"]) for c in neg)
        flagged += sum(
            rule in rules_of(matcher, persona, text)
            for text in innocent
            for persona in ("professional", "personal")
        )
        rows.append(
            Row(
                rule,
                "fixtures.toml cases + innocent_posts.txt (as either persona)",
                "all",
                found,
                len(pos),
                flagged,
                len(neg) + 2 * len(innocent),
            )
        )

    names = tomllib.loads((GUARD_TESTS / "names.toml").read_text("utf-8"))
    nm = build_matcher([GuardProfile(**p) for p in names["persona"]])
    personas = [p["name"] for p in names["persona"]]
    name_cases = names["case"]
    name_rules = {"identity", "confidential"}

    def blocks(c: dict[str, str]) -> bool:
        return bool(rules_of(nm, c["persona"], c["text"], blocking=True) & name_rules)

    def warns(persona: str, text: str) -> bool:
        return "identity.surname" in rules_of(nm, persona, text)

    pos = [c for c in name_cases if c["expect"] == "block"]
    neg = [c for c in name_cases if c["expect"] != "block"]
    innocent_blocks = sum(
        bool(rules_of(nm, p, t, blocking=True) & name_rules) for t in innocent for p in personas
    )
    rows.append(
        Row(
            "identity + confidential (names)",
            "names.toml cases + innocent_posts.txt (as each of its personas)",
            "all",
            sum(blocks(c) for c in pos),
            len(pos),
            sum(blocks(c) for c in neg) + innocent_blocks,
            len(neg) + len(personas) * len(innocent),
        )
    )
    pos = [c for c in name_cases if c["expect"] == "warn"]
    neg = [c for c in name_cases if c["expect"] == "none"]
    rows.append(
        Row(
            "identity.surname",
            "names.toml warn vs none cases + innocent_posts.txt",
            "all",
            sum(warns(c["persona"], c["text"]) for c in pos),
            len(pos),
            sum(warns(c["persona"], c["text"]) for c in neg)
            + sum(warns(p, t) for t in innocent for p in personas),
            len(neg) + len(personas) * len(innocent),
        )
    )
    return rows


def routing_rows() -> list[Row]:
    from tests.guard.conftest import make_profiles

    profiles = make_profiles()
    owners = {a.name: p.name for p in profiles for a in p.accounts}
    found = positives = flagged = negatives = 0
    for persona in (p.name for p in profiles):
        for target in [*owners, "blog"]:
            fired = bool(check_routing(persona, [target], owners))
            if target != "blog" and owners[target] != persona:
                positives += 1
                found += fired
            else:
                negatives += 1
                flagged += fired
    return [
        Row(
            "routing",
            "every account of the fixture personas, as every persona",
            "all",
            found,
            positives,
            flagged,
            negatives,
        )
    ]


# -- the clinician pack ---------------------------------------------------------------------


def clinician_rows() -> list[Row]:
    matcher = build_matcher([GuardProfile(name="clinician", packs=("clinician",))])
    cache: dict[str, set[str]] = {}

    def fired(text: str) -> set[str]:
        if text not in cache:
            cache[text] = {r for r in rules_of(matcher, "clinician", text) if "." in r}
        return cache[text]

    files = {
        "disclosures": lines(CLINICIAN / "disclosures.txt"),
        "innocent": lines(CLINICIAN / "innocent.txt"),
    }
    for rule in NEW_RULES:
        for stem in STEMS[rule]:
            files[f"{stem}.fire"] = lines(CORPORA / f"{stem}.fire.txt")
            files[f"{stem}.innocent"] = lines(CORPORA / f"{stem}.innocent.txt")

    def count(rule: str | None, posts: Iterable[str]) -> int:
        if rule is None:  # any rule of the pack
            return sum(bool(fired(p)) for p in posts)
        return sum(rule in fired(p) for p in posts)

    rows = []
    for split in ("all", "held-out"):
        pick = (lambda p: p) if split == "all" else held_out
        dis, inn = pick(files["disclosures"]), pick(files["innocent"])
        rows.append(
            Row(
                "clinician.* (any rule)",
                "clinician/disclosures.txt vs innocent.txt",
                split,
                count(None, dis),
                len(dis),
                count(None, inn),
                len(inn),
            )
        )
    rule_ids = sorted(r.id for r in PACKS["clinician"])
    for rule in rule_ids:
        short = rule.split(".", 1)[1]
        stems = STEMS.get(short, ())
        own = {f"{stem}.{kind}" for stem in stems for kind in ("fire", "innocent")}
        for stem in stems:
            for split in ("all", "held-out"):
                pick = (lambda p: p) if split == "all" else held_out
                fire, inn = pick(files[f"{stem}.fire"]), pick(files[f"{stem}.innocent"])
                rows.append(
                    Row(
                        rule,
                        f"guard/{stem}.fire.txt vs {stem}.innocent.txt",
                        split,
                        count(rule, fire),
                        len(fire),
                        count(rule, inn),
                        len(inn),
                    )
                )
        if not stems:
            dis, inn = files["disclosures"], files["innocent"]
            rows.append(
                Row(
                    rule,
                    "clinician/disclosures.txt (its share) vs innocent.txt",
                    "all",
                    count(rule, dis),
                    len(dis),
                    count(rule, inn),
                    len(inn),
                )
            )
            own = {"disclosures", "innocent"}
        # for the disclosure rules: the reviews, diagnoses and check-ins of tests/data/guard/
        others = [p for name, posts in files.items() if name not in own for p in posts]
        rows.append(
            Row(
                rule,
                "other corpora (negatives only)",
                "all",
                0,
                0,
                count(rule, others),
                len(others),
            ),
        )
    return rows


# -- near-duplicate, separation, media-metadata -----------------------------------------------


def correlation_rows() -> list[Row]:
    from tests.guard.conftest import SECRET, make_profiles
    from tests.guard.test_correlation import DIFFERENT, NEAR_DUPLICATES, PRO_TEXT, T0

    matcher = build_matcher(make_profiles(), secret=SECRET)
    recent = [RecentPost("professional", 7, PRO_TEXT, T0 - timedelta(days=2))]

    def dup(text: str) -> bool:
        found = check_correlation(matcher, "personal", text, T0, recent)
        return any(f.rule == "near-duplicate" for f in found)

    rows = [
        Row(
            "near-duplicate",
            "test_correlation.py near-duplicates vs different texts",
            "all",
            sum(dup(t) for t in NEAR_DUPLICATES),
            len(NEAR_DUPLICATES),
            sum(dup(t) for t in DIFFERENT),
            len(DIFFERENT),
        )
    ]
    window = timedelta(minutes=45)  # max(professional 45 min, personal 10 min)
    found = positives = flagged = negatives = 0
    for minutes in range(-90, 91, 5):
        other = [RecentPost("professional", 1, "x", T0 + timedelta(minutes=minutes))]
        text = f"Walked the dog for {abs(minutes) + 3} minutes this morning."
        fired = any(
            f.rule == "separation" for f in check_correlation(matcher, "personal", text, T0, other)
        )
        if abs(timedelta(minutes=minutes)) < window:
            positives += 1
            found += fired
        else:
            negatives += 1
            flagged += fired
    rows.append(
        Row(
            "separation",
            "other persona's post every 5 min, ±90 min (window 45 min)",
            "all",
            found,
            positives,
            flagged,
            negatives,
        )
    )
    return rows


def _exif(**tags: object) -> Image.Exif:
    exif = Image.Exif()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    for name, value in tags.items():
        if name.startswith("GPS"):
            gps[getattr(ExifTags.GPS, name)] = value
        elif name in ("BodySerialNumber", "CameraOwnerName", "LensSerialNumber", "UserComment"):
            sub[getattr(ExifTags.Base, name)] = value
        else:
            exif[getattr(ExifTags.Base, name)] = value
    return exif


def media_rows() -> list[Row]:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
        b'rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:creator><rdf:Seq><rdf:li>A. Writer</rdf:li></rdf:Seq></dc:creator>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    gps = {
        "GPSLatitudeRef": "N",
        "GPSLatitude": (51.0, 27.0, 3.0),
        "GPSLongitudeRef": "W",
        "GPSLongitude": (2.0, 35.0, 1.0),
    }
    im = Image.new("RGB", (32, 24), (90, 140, 60))
    png_author = PngImagePlugin.PngInfo()
    png_author.add_text("Author", "A. Writer")
    png_comment = PngImagePlugin.PngInfo()
    png_comment.add_text("Comment", "our garden")
    png_software = PngImagePlugin.PngInfo()
    png_software.add_text("Software", "GIMP 2.10")
    positives = {
        "gps.jpg": {"exif": _exif(**gps)},
        "serial.jpg": {"exif": _exif(BodySerialNumber="SN-20417")},
        "artist.jpg": {"exif": _exif(Artist="A. Writer")},
        "copyright.jpg": {"exif": _exif(Copyright="(c) A. Writer")},
        "owner.jpg": {"exif": _exif(CameraOwnerName="A. Writer")},
        "comment.jpg": {"comment": b"taken at home"},
        "xmp.jpg": {"xmp": xmp},
        "author.png": {"pnginfo": png_author},
        "comment.png": {"pnginfo": png_comment},
        "gps.webp": {"exif": _exif(**gps)},
    }
    negatives = {
        "clean.jpg": {},
        "clean.png": {},
        "clean.webp": {},
        "orientation.jpg": {"exif": _exif(Orientation=1)},
        "software.png": {"pnginfo": png_software},
        "make-model.jpg": {"exif": _exif(Make="Camera Co", Model="X100")},
    }
    profile = GuardProfile(name="personal")
    with tempfile.TemporaryDirectory() as tmp:

        def flagged(name: str, kwargs: dict[str, object]) -> bool:
            path = Path(tmp) / name
            im.save(path, **kwargs)
            return bool(check_media(profile, [("media[0]", path)]))

        found = sum(flagged(n, k) for n, k in positives.items())
        false = sum(flagged(n, k) for n, k in negatives.items())
    return [
        Row(
            "media-metadata",
            "images written here: one identifying tag each vs clean/technical",
            "all",
            found,
            len(positives),
            false,
            len(negatives),
        )
    ]


# -- the generated and simulated sets of the other benchmarks --------------------------------


def simulated_rows(quick: bool) -> list[Row]:
    import rhythm
    import same_image
    import session_hours_corpus

    n = 20 if quick else 60
    trials = 500 if quick else 2000
    with tempfile.TemporaryDirectory() as tmp:
        found, false, pairs = same_image.measure(n, Path(tmp))
    rows = [
        Row(
            "media.same-image",
            f"{n} generated pictures, 4 claimed changes each; all pairs of different ones",
            "all",
            sum(found[name] for name in same_image.SURVIVED),
            n * len(same_image.SURVIVED),
            false,
            pairs,
        )
    ]
    rng = random.Random(7)
    independent = sum(rhythm.trial(rng, shared=False) for _ in range(trials))
    shared = sum(rhythm.trial(rng, shared=True) for _ in range(trials))
    at_shared = sum(rhythm.trial(rng, shared=True, at_shared=True) for _ in range(trials))
    rows += [
        Row(
            "fingerprint.rhythm",
            f"simulated: one shared slot vs independent habits ({trials} trials each)",
            "all",
            shared,
            trials,
            independent,
            trials,
        ),
        Row(
            "fingerprint.rhythm",
            "simulated: the new post in the shared slot vs independent habits",
            "all",
            at_shared,
            trials,
            independent,
            trials,
        ),
    ]
    f = session_hours_corpus.measure()
    rows.append(
        Row(
            "fingerprint.session-hours",
            "clinician corpus an hour after an appointment (negatives: innocent posts then)",
            "all",
            f.warned_disclosures,
            f.disclosures,
            f.warned_innocent,
            f.innocent,
        )
    )
    total = f.disclosures + f.innocent
    rows.append(
        Row(
            "fingerprint.session-hours",
            "every corpus post two days after the appointment (negatives only)",
            "all",
            0,
            0,
            f.warned_days_later,
            total,
        )
    )
    return rows


def all_rows(quick: bool = False) -> list[Row]:
    return [
        *routing_rows(),
        *content_rows(),
        *clinician_rows(),
        *correlation_rows(),
        *media_rows(),
        *simulated_rows(quick),
    ]


def main() -> None:
    started = datetime.now(UTC)
    header = ["rule", "measured on", "split", "positives found (recall)", "negatives flagged"]
    print("| " + " | ".join([*header, "precision"]) + " |")
    print("|---|---|---|---:|---:|---:|")
    for row in all_rows(quick="--quick" in sys.argv):
        print("| " + " | ".join(row.cells()) + " |")
    took = (datetime.now(UTC) - started).total_seconds()
    print(f"\n({took:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
