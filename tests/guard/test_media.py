"""Image metadata: inspection, check_media findings, stripping verified by reading back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from crosspost.guard import GuardProfile
from crosspost.guard.media import check_media, inspect_image, strip_image

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="45,30.5N">'
    b"<dc:creator><rdf:Seq><rdf:li>Ana Bee</rdf:li></rdf:Seq></dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = "Ana Bee"
    exif[ExifTags.Base.Copyright] = "(c) Ana Bee"
    exif[ExifTags.Base.CameraSerialNumber] = "CAM-0042"
    exif[ExifTags.Base.Orientation] = 6  # rotated 90° clockwise
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.BodySerialNumber] = "BODY-123456"
    sub[ExifTags.Base.LensSerialNumber] = "LENS-987"
    sub[ExifTags.Base.CameraOwnerName] = "Tomasz Bee"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 30.0, 36.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (122.0, 39.0, 0.0)
    return exif


@pytest.fixture
def jpeg(tmp_path: Path) -> Path:
    path = tmp_path / "hive.jpg"
    im = Image.new("RGB", (40, 20), (200, 150, 30))
    im.save(path, exif=_exif(), xmp=XMP, comment=b"home garden, Ana Bee")
    return path


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "hive.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Ana Bee")
    info.add_text("Copyright", "Ana Bee 2024")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_text("Software", "GIMP")
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(path, pnginfo=info, exif=_exif())
    return path


def _kinds(items) -> set[tuple[str, str]]:
    return {(i.kind, i.tag) for i in items}


def test_inspect_jpeg(jpeg: Path) -> None:
    kinds = _kinds(inspect_image(jpeg))
    assert ("gps", "GPSInfo") in kinds
    assert {
        ("serial", "BodySerialNumber"),
        ("serial", "LensSerialNumber"),
        ("serial", "CameraSerialNumber"),
    } <= kinds
    assert {("owner", "Artist"), ("owner", "Copyright"), ("owner", "CameraOwnerName")} <= kinds
    assert ("owner", "dc:creator") in kinds and ("gps", "exif:GPSLatitude") in kinds
    assert ("comment", "COM") in kinds
    gps = next(i for i in inspect_image(jpeg) if i.tag == "GPSInfo")
    assert gps.value.startswith("45.51000N")


def test_inspect_png_text_chunks(png: Path) -> None:
    kinds = _kinds(inspect_image(png))
    assert {
        ("owner", "Author"),
        ("owner", "Copyright"),
        ("owner", "dc:creator"),
        ("gps", "GPSInfo"),
        ("serial", "BodySerialNumber"),
    } <= kinds
    assert not any(tag == "Software" for _, tag in kinds)


def test_clean_image_has_nothing(tmp_path: Path) -> None:
    path = tmp_path / "clean.png"
    Image.new("RGB", (5, 5)).save(path)
    assert inspect_image(path) == []


@pytest.mark.parametrize("fixture", ["jpeg", "png"])
def test_strip_removes_everything_and_applies_orientation(
    request: pytest.FixtureRequest, tmp_path: Path, fixture: str
) -> None:
    src: Path = request.getfixturevalue(fixture)
    dst = tmp_path / f"clean{src.suffix}"
    strip_image(src, dst)
    data = dst.read_bytes()
    for needle in (b"Ana Bee", b"BODY-123456", b"LENS-987", b"CAM-0042", b"Tomasz", b"xmpmeta"):
        assert needle not in data
    with Image.open(dst) as im:
        exif = im.getexif()
        assert len(exif) == 0
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert "xmp" not in im.info and "comment" not in im.info
        assert not getattr(im, "text", {})
        if fixture == "jpeg":
            assert im.size == (20, 40)  # orientation 6 applied, then dropped
    assert inspect_image(dst) == []


def test_check_media_blocks_or_warns(jpeg: Path, tmp_path: Path) -> None:
    blocker = GuardProfile(name="personal")
    findings = check_media(blocker, [("media[0]", jpeg)])
    assert findings and all(f.rule == "media-metadata" and f.severity == "block" for f in findings)
    assert all(f.field == "media[0]" for f in findings)
    assert any("location" in f.message for f in findings)
    stripper = GuardProfile(name="personal", strip_metadata=True)
    findings = check_media(stripper, [("media[0]", jpeg)])
    assert findings and all(f.severity == "warn" for f in findings)
    assert "stripped" in findings[0].message
    bogus = tmp_path / "not-an-image.jpg"
    bogus.write_bytes(b"hello")
    [f] = check_media(stripper, [("media[1]", bogus)])
    assert f.severity == "block" and "cannot read" in f.message
