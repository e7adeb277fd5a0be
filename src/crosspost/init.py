"""``crosspost init``: a working configuration to start from, never overwriting anything."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import UsageError

EXAMPLES = files("crosspost") / "examples"
DATA = "data"
#: the example's commented-out lines that ``own_data`` switches on (relative to the config)
OWN_DATA = {
    f'# database_url = "sqlite:///{DATA}/crosspost.db"': f'database_url = "sqlite:///{DATA}/crosspost.db"',
    f'# data_dir = "{DATA}"': f'data_dir = "{DATA}"',
}


def init_config(config: Path, *, own_data: bool = False) -> list[tuple[Path, bool]]:
    """Write config.toml and the example personas if absent; returns (path, created).

    ``own_data``: the configuration keeps its database, media snapshots and caches in
    ``data/`` beside it, instead of in the user data folder that every configuration without
    a ``database_url`` shares (one queue, published by whichever daemon runs).
    """
    base = config.parent
    wanted = [(config, _config_text(own_data))]
    for name in ("professional.toml", "personal.toml"):
        wanted.append(
            (base / "profiles" / name, (EXAMPLES / "profiles" / name).read_text(encoding="utf-8"))
        )
    out = []
    for dest, text in wanted:
        if dest.exists():
            out.append((dest, False))
            continue
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{dest}: cannot write ({e.strerror})") from None
        out.append((dest, True))
    if own_data and out[0][1]:
        try:
            (base / DATA).mkdir(exist_ok=True)  # database_url names it: it must exist
        except OSError as e:
            raise UsageError(f"{base / DATA}: cannot create ({e.strerror})") from None
    _make_site_folders(base, [d for d, created in out if created and d.parent.name == "profiles"])
    return out


def _config_text(own_data: bool) -> str:
    text = (EXAMPLES / "config.example.toml").read_text(encoding="utf-8")
    if own_data:
        for commented, line in OWN_DATA.items():
            assert commented in text, f"config.example.toml lost the line {commented!r}"
            text = text.replace(commented, line, 1)
    return text


def _make_site_folders(base: Path, profiles: list[Path]) -> None:
    """The example personas publish to local folders: create them, so the first publish works."""
    from .profiles import load_persona

    for path in profiles:
        persona = load_persona(path, base)
        for config in [persona.blog, *persona.accounts]:
            local = config.local_folder() if config is not None else None
            if local is not None:
                local[0].mkdir(parents=True, exist_ok=True)
