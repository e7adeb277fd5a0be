"""Turn pydantic's validation errors into lines a person can act on."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError


def timezone_name(v: str) -> str:
    """``v`` if it names an IANA timezone; the ValueError pydantic reports otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {v!r}; use an IANA name like 'America/Chicago' or 'Europe/Berlin'"
        ) from None
    return v


def _walk(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> tuple[str, Any]:
    """The location as a person writes it, and the (sub)model found there.

    A ``platform``-tagged union (a blog or an account) puts the tag into pydantic's location
    (``accounts.0.x.visibility``); the tag chooses the model and is left out of the text.
    """
    out = ""
    current: Any = model
    for part in loc:
        members = _tagged_members(current)
        if members is not None and part in members:
            current = members[part]
            continue
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        out += ("." if out else "") + str(part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            current = None if field is None else _inner(field.annotation)
        else:
            current = None
    return out, current


def _inner(annotation: Any) -> Any:
    """A model, or a tagged union of models, inside ``annotation`` (lists, Optional)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if _tagged_members(annotation) is not None:
        return annotation
    for arg in get_args(annotation):
        found = _inner(arg)
        if found is not None:
            return found
    return None


def _tagged_members(annotation: Any) -> dict[str, type[BaseModel]] | None:
    """``{tag: model}`` of an ``Annotated[Union[...], Field(discriminator=...)]``."""
    if get_origin(annotation) is not Annotated:
        return None
    union, *extras = get_args(annotation)
    key = next((getattr(e, "discriminator", None) for e in extras), None)
    if not isinstance(key, str):
        return None
    members = {}
    for m in get_args(union):
        for tag in get_args(m.model_fields[key].annotation):
            members[tag] = m
    return members


def _fields(found: Any) -> list[str]:
    if isinstance(found, type) and issubclass(found, BaseModel):
        return list(found.model_fields)
    return []


def _elsewhere(name: str, parent: tuple[Any, ...], model: type[BaseModel] | None) -> list[str]:
    """Other members of the tagged union at ``parent`` that have a field ``name``."""
    _, tagged_at = _walk(model, parent[:-1]) if parent else ("", None)
    members = _tagged_members(tagged_at) or {}
    return [tag for tag, m in members.items() if name in m.model_fields]


def describe_validation_error(
    error: ValidationError, source: str, model: type[BaseModel] | None = None
) -> list[str]:
    lines = []
    for item in error.errors():
        loc = tuple(item.get("loc", ()))
        where, _ = _walk(model, loc)
        where = where or "(top level)"
        kind = item.get("type", "")
        if kind == "extra_forbidden":
            name = str(loc[-1]) if loc else "?"
            parent = loc[:-1]
            _, found = _walk(model, parent)
            known = _fields(found)
            owners = _elsewhere(name, parent, model)
            close = difflib.get_close_matches(name, known, n=1)
            tip = f" (did you mean '{close[0]}'?)" if close else ""
            if owners and parent:
                tip = f": {name} is a {' or '.join(owners)} setting; remove it for {parent[-1]}"
            elif known and not close:
                tip = f" (known fields: {', '.join(known)})"
            lines.append(f"{source}: unknown field '{where}'{tip}")
        elif kind == "missing":
            _, found = _walk(model, loc[:-1])
            field = found.model_fields.get(str(loc[-1])) if _fields(found) else None
            about = f" ({field.description})" if field is not None and field.description else ""
            lines.append(f"{source}: missing required field '{where}'{about}")
        elif kind == "union_tag_invalid":
            ctx = item.get("ctx") or {}
            lines.append(
                f"{source}: {where}.platform: unknown platform {ctx.get('tag', '?')!r}; "
                f"use one of {ctx.get('expected_tags', '')}"
            )
        elif kind == "union_tag_not_found":
            _, found = _walk(model, loc)
            tags = ", ".join(repr(t) for t in _tagged_members(found) or {})
            lines.append(f"{source}: {where}: missing 'platform' (one of {tags})")
        else:
            msg = str(item.get("msg", "invalid value"))
            msg = msg.removeprefix("Value error, ")
            lines.append(f"{source}: {where}: {msg}")
    return lines
