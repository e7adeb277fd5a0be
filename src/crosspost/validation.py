"""Turn pydantic's validation errors into lines a person can act on."""

from __future__ import annotations

import difflib
from typing import Any

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


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _fields_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Known field names of the (sub)model at ``loc``, for "did you mean" suggestions."""
    if model is None:
        return []
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def describe_validation_error(
    error: ValidationError, source: str, model: type[BaseModel] | None = None
) -> list[str]:
    lines = []
    for item in error.errors():
        loc = tuple(item.get("loc", ()))
        where = _loc(loc) or "(top level)"
        kind = item.get("type", "")
        if kind == "extra_forbidden":
            name = str(loc[-1]) if loc else "?"
            known = _fields_at(model, loc[:-1])
            close = difflib.get_close_matches(name, known, n=1)
            tip = f" (did you mean '{close[0]}'?)" if close else ""
            if known and not close:
                tip = f" (known fields: {', '.join(known)})"
            lines.append(f"{source}: unknown field '{where}'{tip}")
        elif kind == "missing":
            lines.append(f"{source}: missing required field '{where}'")
        else:
            msg = str(item.get("msg", "invalid value"))
            msg = msg.removeprefix("Value error, ")
            lines.append(f"{source}: {where}: {msg}")
    return lines
