"""config.example.toml and the profile field reference, written from the models themselves.

The settings models and each platform's account/blog model carry their own descriptions, so
the example configuration and docs/profile-fields.md cannot drift from what is accepted: a
test renders both and compares them with the files (``python -m crosspost.configdocs
--write`` rewrites them after a model changed).
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Set
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .durations import format_duration
from .platforms import registry
from .platforms.spec import AccountConfig, BlogConfig
from .profiles import EvergreenConfig, FeedConfig, Persona
from .settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = (
    ROOT / "config.example.toml",
    Path(__file__).parent / "examples/config.example.toml",
)
FIELDS_DOC = ROOT / "docs" / "profile-fields.md"
WIDTH = 92

HEADER = """\
crosspost configuration. Copy to config.toml (or run `crosspost init`) and adjust.
Every key can be overridden by an environment variable: CROSSPOST_<KEY>, and nested keys
with a double underscore, e.g. CROSSPOST_DATABASE_URL, CROSSPOST_DAEMON__LEASE=5m.
Relative paths are resolved against the folder this file is in. Durations take a unit:
"30s", "45m", "6h", "1h30m", "2d" (a bare number such as 45 is an error: seconds or minutes?).
This file is generated from crosspost's settings models (python -m crosspost.configdocs)."""


def _toml(value: Any) -> str:
    if isinstance(value, timedelta):
        return f'"{format_duration(value)}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Path):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str | None) -> list[str]:
    if not text:
        return []
    return ["# " + line for line in textwrap.wrap(text, WIDTH)]


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return None if info.default is PydanticUndefined else info.default


def _example(info: FieldInfo) -> Any:
    extra = info.json_schema_extra
    return extra.get("example") if isinstance(extra, dict) else None


def _is_model(info: FieldInfo) -> bool:
    return isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)


def _section(model: type[BaseModel], path: str, lines: list[str]) -> None:
    tables: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        if _is_model(info) or isinstance(_default(info), dict):
            tables.append((name, info))
            continue
        lines += _comment(info.description)
        value, example = _default(info), _example(info)
        if value is None:
            lines.append(f"# {name} = {_toml(example)}" if example is not None else f"# {name} =")
        else:
            lines.append(f"{name} = {_toml(value)}")
        lines.append("")
    for name, info in tables:
        sub = f"{path}.{name}" if path else name
        lines.append(f"[{sub}]")
        if _is_model(info):
            assert isinstance(info.annotation, type)
            about = _comment(info.description or info.annotation.__doc__)
            lines += [*about, ""] if about else []
            _section(info.annotation, sub, lines)
            continue
        lines += _comment(info.description)
        for key, value in _default(info).items():
            lines.append(f"{key} = {_toml(value)}")
        for key, value in (_example(info) or {}).items():
            lines.append(f"# {key} = {_toml(value)}")
        lines.append("")


def config_example() -> str:
    lines = ["# " + ln if ln else "#" for ln in HEADER.splitlines()] + [""]
    _section(Settings, "", lines)
    return "\n".join(lines).rstrip("\n") + "\n"


# -- docs/profile-fields.md -----------------------------------------------------------------


def _type(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin is Annotated:  # a Duration: the type it validates to
        return _type(args[0])
    if origin is Literal:
        return " or ".join(f'`"{a}"`' for a in args)
    if origin is list:
        return f"list of {_type(args[0])}" if args else "list"
    if args:  # a union (``str | None``): None is what "no default" already says
        return " or ".join(_type(a) for a in args)
    names = {
        str: "string",
        int: "integer",
        bool: "true/false",
        Path: "path",
        float: "number",
        timedelta: 'duration ("30m")',
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _rows(model: type[BaseModel], skip: Set[str]) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        if name in skip or info.exclude:
            continue
        if info.is_required():
            default = "required"
        else:
            value = _default(info)
            default = "—" if value is None or value == [] else f"`{_toml(value)}`"
        about = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_type(info.annotation)} | {default} | {about} |")
    return rows


def _table(model: type[BaseModel], skip: Set[str] = frozenset()) -> list[str]:
    return ["| key | type | default | what it is |", "|---|---|---|---|", *_rows(model, skip)]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "." if text else ""


def profile_fields() -> str:
    out = [
        "# Profile fields: `[blog]`, `[[accounts]]` and `[[feeds]]`",
        "",
        "<!-- generated by `python -m crosspost.configdocs --write` from the platforms' models;",
        "     a test fails when this file and the models disagree -->",
        "",
        "Each persona's `[blog]` and each of its `[[accounts]]` names a `platform`; the other",
        "keys depend on it. A key a platform does not know is an error naming the platform",
        "that has it.",
        "",
        "## The persona's network route",
        "",
        "Top-level keys of a persona file; a `[blog]` or `[[accounts]]` entry with its own",
        "value wins (see the README's *Network fingerprints*).",
        "",
        *_table(Persona, set(Persona.model_fields) - {"user_agent", "proxy"}),
        "",
        "## `[evergreen]`",
        "",
        "Re-sharing the persona's published entries in rotation (see the README's",
        "*Evergreen re-shares*).",
        "",
        *_table(EvergreenConfig),
        "",
        "## Every `[blog]`",
        "",
        *_table(BlogConfig, {"platform"}),
        "",
    ]
    common_blog = set(BlogConfig.model_fields)
    for name in registry.names("blog"):
        spec = registry.spec(name)
        out += [f'### `platform = "{name}"`: {spec.title}', "", _sentence(spec.summary), ""]
        own = _rows(spec.config, common_blog)
        out += (_table(spec.config, common_blog) if own else ["No keys of its own."]) + [""]
    out += ["## Every `[[accounts]]` entry", "", *_table(AccountConfig, {"platform"}), ""]
    common_account = set(AccountConfig.model_fields)
    for name in registry.names("share"):
        spec = registry.spec(name)
        facts = [_sentence(spec.summary)]
        if spec.limit is not None and spec.counting is not None:
            facts.append(f"Limit: {spec.limit} {spec.counting.unit}.")
        if spec.credential_fields:
            stored = ", ".join(f"`{f.name}`" for f in spec.credential_fields)
            facts.append(f"`crosspost accounts login` stores {stored} in the keyring.")
        out += [f'### `platform = "{name}"`: {spec.title}', "", " ".join(facts), ""]
        own = _rows(spec.config, common_account)
        out += (_table(spec.config, common_account) if own else ["No keys of its own."]) + [""]
    out += [
        "## Every `[[feeds]]` entry",
        "",
        "A blog's RSS or Atom feed whose new items the daemon shares to the persona's accounts",
        "(see the README's *Feeds in*).",
        "",
        *_table(FeedConfig),
        "",
    ]
    return "\n".join(out).rstrip("\n") + "\n"


def outputs() -> dict[Path, str]:
    example = config_example()
    return {**{p: example for p in EXAMPLE_FILES}, FIELDS_DOC: profile_fields()}


def main(argv: list[str]) -> int:
    stale = [p for p, text in outputs().items() if not p.exists() or p.read_text() != text]
    if "--write" in argv:
        for p in stale:
            p.write_text(outputs()[p])
            print(f"wrote {p}")  # noqa: T201
        return 0
    for p in stale:
        print(f"{p} is out of date: python -m crosspost.configdocs --write")  # noqa: T201
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
