"""``media.same-image``: the same photo, or a resized or re-encoded copy, under two personas.

Stripping metadata does not make a photo anonymous: the pixels themselves link the accounts,
for anyone with a reverse image search. Each image is reduced to a 64-bit perceptual hash
(pHash, from the ImageHash package: the low frequencies of a 32×32 grey DCT, each bit set when
above the median), which survives resizing, re-encoding, small crops of the border and slight
colour changes. Two images are the same photo when their hashes differ in at most
``MAX_DISTANCE`` (8) of 64 bits; unrelated photos differ in about half of them.

Hashes are computed when a post is queued and kept in the post's media JSON (``phash``), so
every queued or published image of every persona can be compared without reading its file
again. An image with (almost) no structure — a flat colour, where nearly all bits are equal —
is not compared: every plain banner would match every other one.

Severity block: the same photo on two personas is as direct a link as the same name, and the
hash distance leaves little room for chance matches. ``--allow media.same-image --reason`` (a
public-domain image used on purpose) or ``[guard] rules`` per persona change that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .findings import Finding
from .rules import effective_severity

RULE = "media.same-image"
MAX_DISTANCE = 8
#: fewer set (or unset) bits than this: an image without structure, not compared
MIN_BITS = 4
_BITS = 64


def image_hash(path: str | Path) -> str | None:
    """The perceptual hash of the image at ``path`` as 16 hex digits, or None when it cannot
    be read as an image (the metadata rule reports those)."""
    import imagehash
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return str(imagehash.phash(im.convert("RGB")))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def comparable(h: str) -> bool:
    ones = int(h, 16).bit_count()
    return MIN_BITS <= ones <= _BITS - MIN_BITS


@dataclass(frozen=True)
class KnownImage:
    """An image of a queued or published post of some persona."""

    persona: str
    post_id: int
    phash: str


def check_same_image(
    persona: str,
    items: Sequence[tuple[str, str, str | None]],
    known: Sequence[KnownImage],
    overrides: Mapping[str, str],
) -> list[Finding]:
    """``items`` are the post's images as (field, path as written, hash); one finding per
    image and other persona (its closest image)."""
    severity = effective_severity(RULE, "block", overrides)
    if severity == "off":
        return []
    others = [k for k in known if k.persona != persona and comparable(k.phash)]
    findings = []
    for field, path, h in items:
        if h is None or not comparable(h):
            continue
        best: dict[str, tuple[int, KnownImage]] = {}
        for k in others:
            d = distance(h, k.phash)
            if d <= MAX_DISTANCE and (k.persona not in best or d < best[k.persona][0]):
                best[k.persona] = (d, k)
        for other, (d, k) in sorted(best.items()):
            findings.append(
                Finding(
                    rule=RULE,
                    severity=severity,  # type: ignore[arg-type]
                    match=path,
                    start=0,
                    end=0,
                    field=field,
                    owner=other,
                    message=(
                        f"{field} is the same picture as an image of post {k.post_id} of "
                        f"persona '{other}' (perceptual hash {d} of {_BITS} bits apart): a "
                        "photo used on two personas links them by reverse image search; use "
                        "another one"
                    ),
                )
            )
    return findings
