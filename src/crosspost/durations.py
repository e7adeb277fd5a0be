"""Human durations ("45m", "6h", "1h30m", "2d") used in config files and on the command line."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[dhms]\s*)+$", re.IGNORECASE)
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")


def parse_duration(value: object) -> timedelta:
    """Accept "90s", "45m", "6h", "1h30m", "2d", 0, or a timedelta.

    A number without a unit is refused: ``separation = 45`` reads as minutes to a person and
    as seconds to a program, and guessing wrong silently breaks the timing guard.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _NUMBER.match(value):
        number = float(value)
    else:
        number = None
    if number is not None:
        if number == 0:
            return timedelta(0)
        shown = _NUMBER.sub(r"\1", value) if isinstance(value, str) else f"{value:g}"
        raise ValueError(
            f'{value!r} has no unit; write it with one, like "{shown}m" for minutes '
            f'(or "{shown}s", "{shown}h", "{shown}d")'
        )
    if isinstance(value, str) and _WHOLE.match(value):
        seconds = sum(float(n) * _UNIT[u.lower()] for n, u in _PART.findall(value))
        return timedelta(seconds=seconds)
    raise ValueError(
        f"{value!r} is not a duration; write it like '30s', '45m', '6h', '1h30m' or '2d'"
    )


def format_duration(td: timedelta) -> str:
    seconds = int(td.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
