"""``crosspost init``: a working configuration to start from, never overwriting anything."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import UsageError

EXAMPLES = files("crosspost") / "examples"


def init_config(config: Path) -> list[tuple[Path, bool]]:
    """Write config.toml and the example personas if absent; returns (path, created)."""
    base = config.parent
    wanted = [(config, EXAMPLES / "config.example.toml")]
    for name in ("professional.toml", "personal.toml"):
        wanted.append((base / "profiles" / name, EXAMPLES / "profiles" / name))
    out = []
    for dest, src in wanted:
        if dest.exists():
            out.append((dest, False))
            continue
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{dest}: cannot write ({e.strerror})") from None
        out.append((dest, True))
    _make_site_folders(base, [d for d, created in out if created and d.parent.name == "profiles"])
    return out


def _make_site_folders(base: Path, profiles: list[Path]) -> None:
    """The example personas publish to local folders: create them, so the first publish works."""
    from .profiles import load_persona

    for path in profiles:
        persona = load_persona(path, base)
        folders = [persona.blog.content_dir] if persona.blog and persona.blog.content_dir else []
        folders += [a.path.parent for a in persona.accounts if a.path is not None]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
