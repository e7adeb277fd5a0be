"""Image metadata: find what links a photo to a person or a place, and strip it.

What counts (any of it blocks, unless the persona sets ``strip_metadata = true``, in which case
the finding is a warning that the image will be re-encoded without it):

* GPS position (EXIF GPS IFD; XMP ``exif:GPSLatitude``/``GPSLongitude``),
* serial numbers: EXIF ``BodySerialNumber``, ``CameraSerialNumber``, ``LensSerialNumber``, the
  vendor ``MakerNote`` (which usually holds an internal serial), XMP ``aux:SerialNumber`` etc. —
  the same camera serial on both personas' photos links them,
* owner and author names: EXIF ``Artist``, ``Copyright``, ``CameraOwnerName``, ``XPAuthor``; XMP
  ``dc:creator``, ``dc:rights``, ``xmpRights:Owner``, ``photoshop:Author``/``Credit``, IPTC
  by-line, copyright, contact, city/location fields; PNG ``Author``/``Copyright``/``Artist`` text,
* free-text comments that often carry names or places: EXIF ``ImageDescription``,
  ``UserComment``, ``XPComment``/``XPSubject``/``XPKeywords``/``XPTitle``, JPEG ``COM``, PNG
  ``Comment``/``Description``/``Title``, ImageMagick's raw EXIF text chunk.

This module reads files; everything else in the guard is pure. What it cannot see: the picture
itself (a house number, a face, a reflected screen), metadata in formats Pillow cannot open
(HEIC without a plugin, RAW), and sidecar files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import SupportsFloat

from PIL import ExifTags, Image, ImageOps, IptcImagePlugin

from .findings import Finding
from .profile import GuardProfile
from .rules import effective_severity

__all__ = ["MediaMetadata", "check_media", "inspect_image", "strip_image"]

StrPath = str | os.PathLike[str]


@dataclass(frozen=True)
class MediaMetadata:
    """One metadata item that can identify a person or a place."""

    kind: str  # "gps" | "serial" | "owner" | "comment"
    source: str  # "exif" | "xmp" | "iptc" | "png-text" | "jpeg-comment"
    tag: str
    value: str

    def describe(self) -> str:
        value = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"{self.source} {self.tag}={value!r}"


_B = ExifTags.Base
_IFD0_TAGS = {
    _B.Artist: "owner",
    _B.Copyright: "owner",
    _B.XPAuthor: "owner",
    _B.CameraSerialNumber: "serial",
    _B.ImageDescription: "comment",
    _B.XPComment: "comment",
    _B.XPSubject: "comment",
    _B.XPKeywords: "comment",
    _B.XPTitle: "comment",
}
_EXIF_TAGS = {
    _B.BodySerialNumber: "serial",
    _B.LensSerialNumber: "serial",
    _B.CameraSerialNumber: "serial",
    _B.CameraOwnerName: "owner",
    _B.UserComment: "comment",
    _B.MakerNote: "serial",
}
_XMP_FIELDS = {
    "exif:GPSLatitude": "gps",
    "exif:GPSLongitude": "gps",
    "exif:GPSAltitude": "gps",
    "exifEX:BodySerialNumber": "serial",
    "exifEX:LensSerialNumber": "serial",
    "exifEX:CameraOwnerName": "owner",
    "aux:SerialNumber": "serial",
    "aux:LensSerialNumber": "serial",
    "aux:OwnerName": "owner",
    "dc:creator": "owner",
    "dc:rights": "owner",
    "xmpRights:Owner": "owner",
    "tiff:Artist": "owner",
    "tiff:Copyright": "owner",
    "photoshop:Author": "owner",
    "photoshop:Credit": "owner",
    "photoshop:City": "gps",
    "photoshop:State": "gps",
    "Iptc4xmpCore:Location": "gps",
    "Iptc4xmpCore:CreatorContactInfo": "owner",
    "Iptc4xmpCore:CiAdrExtadr": "gps",
    "Iptc4xmpCore:CiAdrCity": "gps",
    "Iptc4xmpCore:CiEmailWork": "owner",
    "Iptc4xmpCore:CiTelWork": "owner",
    "dc:description": "comment",
}
_IPTC_FIELDS = {
    (2, 80): ("By-line", "owner"),
    (2, 116): ("CopyrightNotice", "owner"),
    (2, 118): ("Contact", "owner"),
    (2, 122): ("Writer", "owner"),
    (2, 90): ("City", "gps"),
    (2, 92): ("Sub-location", "gps"),
    (2, 95): ("Province-State", "gps"),
    (2, 120): ("Caption", "comment"),
}
_PNG_TEXT = {
    "author": "owner",
    "artist": "owner",
    "copyright": "owner",
    "creator": "owner",
    "owner": "owner",
    "comment": "comment",
    "description": "comment",
    "title": "comment",
    "disclaimer": "comment",
    "source": "serial",
    "location": "gps",
}


def _text(value: object) -> str:
    if isinstance(value, bytes):
        for enc in ("utf-16-le", "utf-8", "latin-1"):
            try:
                text = value.decode(enc)
            except UnicodeDecodeError:
                continue
            if enc == "utf-16-le" and not (len(value) % 2 == 0 and b"\x00" in value):
                continue
            return text.strip("\x00 ").strip()
        return value.hex()
    return str(value).strip("\x00 ").strip()


def _exif_items(exif: Image.Exif) -> list[MediaMetadata]:
    out = []
    for tag, kind in _IFD0_TAGS.items():
        value = exif.get(tag)
        if value not in (None, b"", ""):
            text = _text(value)
            if text:
                out.append(MediaMetadata(kind, "exif", _B(tag).name, text))
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    for tag, kind in _EXIF_TAGS.items():
        value = sub.get(tag)
        if value in (None, b"", ""):
            continue
        if tag == _B.MakerNote:
            text = f"{len(value)} bytes of vendor data (usually includes a serial number)"
        elif tag == _B.UserComment and isinstance(value, bytes):
            text = _text(value[8:] if value[:8].rstrip(b"\x00").isalpha() else value)
        else:
            text = _text(value)
        if text:
            out.append(MediaMetadata(kind, "exif", _B(tag).name, text))
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if gps:
        lat, lon = gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLongitude)
        if lat and lon:
            value = f"{_dms(lat, gps.get(ExifTags.GPS.GPSLatitudeRef))}, " + _dms(
                lon, gps.get(ExifTags.GPS.GPSLongitudeRef)
            )
        else:
            value = ", ".join(sorted(ExifTags.GPSTAGS.get(k, str(k)) for k in gps))
        out.append(MediaMetadata("gps", "exif", "GPSInfo", value))
    return out


def _dms(value: object, ref: object) -> str:
    """Decimal degrees from EXIF's (degrees, minutes, seconds) rationals; a malformed value is
    shown as it is (it is reported either way: its presence is the finding)."""
    parts = tuple(value) if isinstance(value, Iterable) else ()
    try:
        d, m, s = (float(x) for x in parts if isinstance(x, SupportsFloat))
        deg = d + m / 60 + s / 3600
    except (TypeError, ValueError):
        return str(value)
    return f"{deg:.5f}{_text(ref) if ref else ''}"


_XMP_TAGS = "|".join(re.escape(t) for t in sorted(_XMP_FIELDS, key=len, reverse=True))
_XMP_ELEMENT = re.compile(rf"<(?P<tag>{_XMP_TAGS})(?:\s[^>]*)?>(?P<body>.*?)</(?P=tag)>", re.DOTALL)
_XMP_ATTR = re.compile(
    rf"(?<![\w:])(?P<tag>{_XMP_TAGS})\s*=\s*(?P<q>[\"'])(?P<body>.*?)(?P=q)", re.DOTALL
)
_XML_TAGS = re.compile(r"<[^>]+>")


def _xmp_items(xmp: str | bytes) -> list[MediaMetadata]:
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    out: list[MediaMetadata] = []
    seen = set()
    for rx in (_XMP_ELEMENT, _XMP_ATTR):
        for m in rx.finditer(text):
            tag = m.group("tag")
            kind = _XMP_FIELDS.get(tag)
            if kind is None:
                continue
            value = " ".join(_XML_TAGS.sub(" ", m.group("body")).split())
            if value and (tag, value) not in seen:
                seen.add((tag, value))
                out.append(MediaMetadata(kind, "xmp", tag, value))
    return out


def _png_items(im: Image.Image) -> list[MediaMetadata]:
    out: list[MediaMetadata] = []
    texts = getattr(im, "text", None) or {}
    for key, value in texts.items():
        low = key.lower()
        if low == "xml:com.adobe.xmp":
            out += _xmp_items(value)
        elif low.startswith("raw profile type exif") or low == "raw profile type app1":
            exif = _raw_profile_exif(str(value))
            if exif is not None:
                out += _exif_items(exif)
            else:
                out.append(MediaMetadata("serial", "png-text", key, "embedded EXIF profile"))
        elif low.startswith("raw profile type"):
            out.append(MediaMetadata("comment", "png-text", key, "embedded metadata profile"))
        elif low in _PNG_TEXT and str(value).strip():
            out.append(MediaMetadata(_PNG_TEXT[low], "png-text", key, str(value).strip()))
    return out


def _raw_profile_exif(value: str) -> Image.Exif | None:
    """ImageMagick stores EXIF in PNG text as ``\\nexif\\n  <len>\\n<hex>``."""
    parts = value.strip().split("\n", 2)
    if len(parts) < 3:
        return None
    try:
        data = bytes.fromhex("".join(parts[2].split()))
        exif = Image.Exif()
        exif.load(data[6:] if data.startswith(b"Exif\x00\x00") else data)
    except (ValueError, SyntaxError, OSError):
        return None
    return exif


def inspect_image(path: StrPath) -> list[MediaMetadata]:
    """Identifying metadata in the image at ``path`` (raises ``OSError`` if unreadable)."""
    with Image.open(path) as im:
        out = _exif_items(im.getexif())
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
        if xmp:
            out += _xmp_items(xmp)
        out += _png_items(im)
        if im.format == "JPEG":
            comment = im.info.get("comment")
            if comment:
                text = _text(comment)
                if text:
                    out.append(MediaMetadata("comment", "jpeg-comment", "COM", text))
            try:
                iptc = IptcImagePlugin.getiptcinfo(im) or {}
            except (SyntaxError, OSError, ValueError):
                iptc = {}
            for key, (tag, kind) in _IPTC_FIELDS.items():
                value = iptc.get(key)
                if value:
                    values = value if isinstance(value, list) else [value]
                    text = ", ".join(_text(v) for v in values)
                    out.append(MediaMetadata(kind, "iptc", tag, text))
    # de-duplicate (XMP is sometimes both in info and PNG text)
    uniq: dict[tuple[str, str, str], MediaMetadata] = {}
    for item in out:
        uniq.setdefault((item.source, item.tag, item.value), item)
    return list(uniq.values())


_KEEP_INFO = ("transparency",)


def strip_image(src: StrPath, dst: StrPath) -> None:
    """Re-encode ``src`` into ``dst`` without metadata, with the EXIF orientation applied.

    Only pixels (and palette/transparency) survive: EXIF, XMP, IPTC, ICC profile, comments and
    text chunks are dropped (dropping the ICC profile can shift colours slightly on wide-gamut
    photos; it can carry a device name). The result is read back and checked; a ``RuntimeError``
    is raised if anything identifying survived. Animated images keep only their first frame.
    """
    dst_path = Path(dst)
    with Image.open(src) as im:
        im.load()
        fmt = Image.registered_extensions().get(dst_path.suffix.lower()) or im.format or "PNG"
        oriented = ImageOps.exif_transpose(im)
        clean = oriented.copy() if oriented is not None else im.copy()
        keep = {k: im.info[k] for k in _KEEP_INFO if k in im.info}
        clean.info = {}
        params: dict[str, object] = {}
        if fmt == "JPEG":
            if clean.mode not in ("RGB", "L", "CMYK"):
                clean = clean.convert("RGB")
            params.update(quality=95, optimize=True)
        elif "transparency" in keep and clean.mode in ("P", "L", "RGB"):
            params["transparency"] = keep["transparency"]
        clean.save(dst_path, format=fmt, **params)
    left = inspect_image(dst_path)
    if left:
        raise RuntimeError(
            f"metadata survived stripping {src} -> {dst}: " + "; ".join(i.describe() for i in left)
        )


def check_media(
    persona_profile: GuardProfile, items: Sequence[tuple[str, StrPath]]
) -> list[Finding]:
    """``media-metadata`` findings for ``(field_name, path)`` pairs of a post.

    Blocks, or warns that the image will be stripped when the persona has
    ``strip_metadata = true``. An image that cannot be read blocks (it cannot be verified).
    """
    strip = persona_profile.strip_metadata
    default = "warn" if strip else "block"
    severity = effective_severity("media-metadata", default, persona_profile.severity)
    if strip and severity == "block":
        severity = "warn"
    findings: list[Finding] = []
    for field_name, path in items:
        name = os.path.basename(os.fspath(path))
        try:
            found = inspect_image(path)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            findings.append(
                Finding(
                    rule="media-metadata",
                    severity="block",
                    match=name,
                    start=0,
                    end=0,
                    field=field_name,
                    message=f"{field_name} ({name}): cannot read the image to check its "
                    f"metadata ({exc}); convert it to JPEG/PNG/WebP first",
                )
            )
            continue
        if severity == "off":
            continue
        for item in found:
            action = (
                "it will be stripped (re-encoded) before publishing"
                if strip
                else "remove it, or set strip_metadata = true for this persona"
            )
            findings.append(
                Finding(
                    rule="media-metadata",
                    severity=severity,  # type: ignore[arg-type]
                    match=f"{item.tag}",
                    start=0,
                    end=0,
                    field=field_name,
                    message=f"{field_name} ({name}) has {_KIND_TEXT[item.kind]} in "
                    f"{item.describe()}; {action}",
                )
            )
    return findings


_KIND_TEXT = {
    "gps": "a location",
    "serial": "a device serial number",
    "owner": "an owner/author name",
    "comment": "a free-text comment",
}
