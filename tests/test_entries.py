from __future__ import annotations

import pytest

from crosspost.entries import parse_entry, read_entry, text_entry
from crosspost.errors import EntryError

YAML_ENTRY = """---
title: "Therapy and Social Networking"
tags: [social media, ethics]
summary: How clinicians keep their online lives apart
to: [blog, pro-x]
at: 2030-05-01 09:00
---

Blogging and social networking can bring exciting opportunities.
"""

TOML_ENTRY = """+++
title = "Boundaries online"
tags = ["ethics"]
at = "2030-05-01 09:00"
+++
Body text here.
"""


def test_yaml_front_matter():
    e = parse_entry(YAML_ENTRY)
    assert e.kind == "entry"
    assert e.title == "Therapy and Social Networking"
    assert e.tags == ["social media", "ethics"]
    assert e.to == ["blog", "pro-x"]
    assert e.at == "2030-05-01 09:00"  # YAML needs seconds for a timestamp; text is parsed later
    assert e.body.startswith("Blogging")
    assert YAML_ENTRY[e.offsets["body"] :].startswith("Blogging")
    assert YAML_ENTRY[e.offsets["title"] :].startswith("Therapy and Social")
    assert e.effective_slug() == "therapy-and-social-networking"


def test_toml_front_matter():
    e = parse_entry(TOML_ENTRY)
    assert e.title == "Boundaries online"
    assert e.at == "2030-05-01 09:00"
    assert e.body == "Body text here."


def test_plain_file_is_short_post():
    e = parse_entry("Just a thought about bees.\n")
    assert e.kind == "short"
    assert e.title is None
    assert e.offsets["body"] == 0


def test_text_entry():
    e = text_entry("  hello there ")
    assert e.kind == "short" and e.body == "hello there"
    assert e.raw[e.offsets["body"] :].startswith("hello")
    with pytest.raises(EntryError, match="empty"):
        text_entry("   ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\ntitel: x\n---\nbody", "unknown front matter field 'titel' (did you mean 'title'?)"),
        ("---\ntitle: x\nfoo: 1\nbar: 2\n---\nbody", "unknown front matter fields 'foo', 'bar'"),
        ("---\ntitle: [unclosed\n---\nbody", "not valid YAML at line"),
        ("+++\ntitle = \n+++\nbody", "not valid TOML"),
        ("---\ntitle: x\nbody without end", "no closing '---'"),
        ("---\ntitle: x\n---\n\n   \n", "the post is empty"),
        ("---\ntags: {a: 1}\n---\nbody", "'tags' must be a list"),
        ("---\nat: 2030-05-01\n---\nbody", "needs a time of day"),
        ("---\n- a\n- b\n---\nbody", "must be a set of"),
        ("---\nmedia: [{path: a.jpg, alts: x}]\n---\nbody", "unknown field(s) alts"),
        ("---\nshare: nope\n---\nbody", "'share' maps a platform"),
    ],
)
def test_bad_entries(text, expected):
    with pytest.raises(EntryError) as exc:
        parse_entry(text)
    assert expected in str(exc.value)


def test_file_errors(tmp_path):
    with pytest.raises(EntryError, match="file not found"):
        read_entry(tmp_path / "missing.md")
    bad = tmp_path / "latin1.md"
    bad.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(EntryError, match="not UTF-8"):
        read_entry(bad)
    with pytest.raises(EntryError, match="is a folder"):
        read_entry(tmp_path)


def test_bom_is_ignored(tmp_path):
    p = tmp_path / "bom.md"
    p.write_bytes("\ufeff---\ntitle: T\n---\nbody".encode())
    assert read_entry(p).title == "T"


def test_media_paths_relative_to_entry(tmp_path):
    p = tmp_path / "sub" / "e.md"
    p.parent.mkdir()
    p.write_text("---\ntitle: T\nmedia:\n  - path: img/a.jpg\n    alt: A hive\n---\nbody")
    e = read_entry(p)
    assert e.media[0].path == tmp_path / "sub" / "img" / "a.jpg"
    assert e.media[0].alt == "A hive"
    assert ("media[0].alt", "A hive") in e.published_fields()


def test_local_images_of_the_body(tmp_path):
    from crosspost.entries import rewrite_image_refs

    p = tmp_path / "e.md"
    p.write_text(
        "---\ntitle: T\n---\n"
        'A ![hive \\[one\\]](photos/hive.jpg "Hive") and ![](<my pic.png>) twice: '
        "![again](photos/hive.jpg)\n"
        "Remote ![r](https://example.org/r.jpg), site ![s](/img/s.jpg), "
        "data ![d](data:image/png;base64,AAAA), escaped ![p](p%20q.jpg?v=2#x)\n"
        "`![code](in-code.jpg)`\n\n```\n![fenced](fenced.jpg)\n```\n\n"
        '<img alt="html one" src="h.png"> <img src=https://example.org/h.png>\n'
    )
    e = read_entry(p)
    assert [(m.ref, m.alt, m.path) for m in e.body_images] == [
        ("photos/hive.jpg", "hive [one]", tmp_path / "photos" / "hive.jpg"),
        ("my pic.png", "", tmp_path / "my pic.png"),
        ("p%20q.jpg?v=2#x", "p", tmp_path / "p q.jpg"),
        ("h.png", "html one", tmp_path / "h.png"),
    ]
    out = rewrite_image_refs(e.body, {"photos/hive.jpg": "x/1.jpg", "h.png": "x/2.png"})
    assert '![hive \\[one\\]](x/1.jpg "Hive")' in out and "![again](x/1.jpg)" in out
    assert '<img alt="html one" src="x/2.png">' in out
    assert "![fenced](fenced.jpg)" in out and "https://example.org/r.jpg" in out


def test_missing_media_names_the_entry_and_the_path(tmp_path):
    from crosspost.entries import require_media

    p = tmp_path / "e.md"
    p.write_text("---\ntitle: T\nmedia: [a.jpg]\n---\n![x](b/c.png)\n")
    with pytest.raises(EntryError, match=r"e\.md: media\[0\] .*a\.jpg: file not found") as err:
        require_media(read_entry(p))
    assert err.value.exit_code == 2
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(EntryError, match=r"e\.md: the image 'b/c\.png' in the body"):
        require_media(read_entry(p))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "c.png").write_bytes(b"x")
    require_media(read_entry(p))
