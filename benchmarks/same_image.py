"""Recall and false matches of ``media.same-image`` on a generated picture set.

``python benchmarks/same_image.py [N]``

There is no corpus of photographs in the repository (and none may be downloaded), so the set
is generated with Pillow: ``N`` (default 60) pictures of overlapping shapes and colour
gradients, softened and grained like a photo. Each is changed the ways a photo is changed
when posted again — resized and re-encoded, re-encoded harder, brightened, its border
cropped — and the ways the rule does not claim to survive (a heavy crop, a mirror image, a
quarter turn). A change is *found* when the rule reports the copy against the original;
every pair of different pictures is a chance for a false match.
"""

from __future__ import annotations

import io
import random
import sys
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from crosspost.guard.images import KnownImage, check_same_image, image_hash


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    rng = random.Random(seed)
    w, h = size
    top = [rng.randrange(256) for _ in range(3)]
    bottom = [rng.randrange(256) for _ in range(3)]
    im = Image.new("RGB", size)
    draw = ImageDraw.Draw(im)
    for y in range(h):
        c = tuple(int(top[i] + (bottom[i] - top[i]) * y / h) for i in range(3))
        draw.line([(0, y), (w, y)], fill=c)
    for _ in range(rng.randrange(15, 60)):
        x, y = rng.randrange(w), rng.randrange(h)
        rx, ry = rng.randrange(10, w // 3), rng.randrange(10, h // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=colour)
        else:
            draw.rectangle((x - rx, y - ry, x + rx, y + ry), fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(rng.uniform(1, 4)))
    noise = Image.effect_noise(size, rng.uniform(5, 20)).convert("RGB")
    return Image.blend(im, noise, 0.08)


def _jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _crop(im: Image.Image, share: float) -> Image.Image:
    dx, dy = int(im.width * share / 2), int(im.height * share / 2)
    return im.crop((dx, dy, im.width - dx, im.height - dy))


#: changes a re-post goes through (the rule should find them) …
SURVIVED: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized to 40 %, JPEG q55": lambda im: _jpeg(
        im.resize((im.width * 2 // 5, im.height * 2 // 5)), 55
    ),
    "JPEG q30": lambda im: _jpeg(im, 30),
    "brightened 15 %": lambda im: ImageEnhance.Brightness(im).enhance(1.15),
    "border cropped (5 %)": lambda im: _crop(im, 0.05),
}
#: … and changes it does not claim to survive (docs/guard.md, "Not caught")
NOT_CLAIMED: dict[str, Callable[[Image.Image], Image.Image]] = {
    "heavy crop (30 %)": lambda im: _crop(im, 0.30),
    "mirrored": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "quarter turn": lambda im: im.transpose(Image.Transpose.ROTATE_90),
}


def _hash(im: Image.Image, folder: Path, name: str) -> str | None:
    path = folder / f"{name}.png"
    im.save(path)
    return image_hash(path)


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    return bool(check_same_image("home", [("media[0]", "x", b)], [KnownImage("pro", 1, a)], {}))


def measure(n: int, folder: Path) -> tuple[dict[str, int], int, int]:
    """(pictures found per change, false matches, pairs compared)."""
    originals = [picture(seed) for seed in range(n)]
    hashes = [_hash(im, folder, f"p{i}") for i, im in enumerate(originals)]
    found = dict.fromkeys([*SURVIVED, *NOT_CLAIMED], 0)
    for i, im in enumerate(originals):
        for name, change in {**SURVIVED, **NOT_CLAIMED}.items():
            found[name] += _same(hashes[i], _hash(change(im), folder, f"c{i}"))
    pairs = list(combinations(range(n), 2))
    false = sum(_same(hashes[i], hashes[j]) for i, j in pairs)
    return found, false, len(pairs)


def main() -> None:
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    with tempfile.TemporaryDirectory() as tmp:
        found, false, pairs = measure(n, Path(tmp))
    for name in SURVIVED:
        print(f"found  {found[name]:>3}/{n}  {name}")
    for name in NOT_CLAIMED:
        print(f"found  {found[name]:>3}/{n}  {name} (not claimed)")
    print(f"false matches between different pictures: {false}/{pairs} pairs")


if __name__ == "__main__":
    main()
