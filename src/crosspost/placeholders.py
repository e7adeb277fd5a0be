"""The grammar of share templates: which placeholders exist and what makes a template valid.

Kept apart from :mod:`crosspost.compose` (which re-exports it) because profiles and entries
check their templates when they are loaded, and ``crosspost list`` loads the profiles without
needing the text fitting machinery.
"""

from __future__ import annotations

import difflib
import re
import string

__all__ = ["PLACEHOLDERS", "template_problem"]

PLACEHOLDERS: tuple[str, ...] = ("title", "url", "summary", "tags", "body")


def _valid_placeholders() -> str:
    return ", ".join("{" + p + "}" for p in PLACEHOLDERS)


def template_problem(template: str, where: str) -> str | None:
    """What is wrong with a share template, as one line naming ``where`` and the fix.

    ``None`` when the template is fine. Profiles and entries call this when they are loaded,
    so a typo is a configuration error the user sees at once, not a failed delivery hours
    later; :func:`crosspost.compose.render_share` applies the same rules.
    """
    if not isinstance(template, str):
        return f"share template in {where} must be text, not {type(template).__name__}"
    valid = _valid_placeholders()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return (
            f"share template in {where} is malformed ({exc}); placeholders are {valid},"
            " and a literal brace is written {{ or }}"
        )
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            return _unknown_placeholder(name, spec, conversion, where, valid)
        if spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            return (
                f"placeholder {{{shown}}} in {where} takes no conversion or format spec;"
                f" write it as {{{name}}}"
            )
    return None


def _unknown_placeholder(
    name: str, spec: str | None, conversion: str | None, where: str, valid: str
) -> str:
    shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
    base = re.split(r"[.\[]", name, maxsplit=1)[0]
    if base in PLACEHOLDERS:  # {title.upper}, {tags[0]}: attribute access or indexing
        return (
            f"placeholder {{{shown}}} in {where} uses attribute access or indexing, which"
            f" share templates do not support; write it as {{{base}}} (placeholders: {valid})"
        )
    close = difflib.get_close_matches(base.lower(), PLACEHOLDERS, n=1, cutoff=0.6)
    tip = f"; did you mean {{{close[0]}}}?" if close else ""
    if not base or base.isdigit():
        tip = "; placeholders are named, not numbered"
    return f"unknown placeholder {{{shown}}} in {where}{tip} (placeholders: {valid})"
