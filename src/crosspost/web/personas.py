"""The personas page: who each persona is to the guard, and whether its accounts can publish.

Read-only, and never a secret: credentials are only said to be there or not, and the
confidential identifiers and own never-mention terms are counted, not shown (the CLI does
not print them either; a screen share must not show a client's name).
"""

from __future__ import annotations

from typing import Any

from ..app import App


def persona_pages(app: App) -> list[dict[str, Any]]:
    from .. import credentials
    from ..durations import format_duration
    from ..platforms.registry import spec

    out = []
    for p in app.personas:
        targets: list[tuple[str, str]] = [("blog", p.blog.platform)] if p.blog else []
        targets += [(a.name, a.platform) for a in p.accounts]
        missing = set(credentials.missing_logins(p.name, targets))
        health = []
        for name, platform in targets:
            s = spec(platform)
            if s.local:
                state, text = "ok", "writes local files: no credentials needed"
            elif not any(f.secret for f in s.credential_fields):
                state, text = "ok", "no credentials needed"
            elif name in missing:
                login = f"{name} --persona {p.name}" if name == "blog" else name
                state, text = "missing", f"no credentials yet: crosspost accounts login {login}"
            else:
                state, text = "ok", "credentials present in the keyring"
            account = p.account(name)
            health.append(
                {
                    "target": name,
                    "platform": platform,
                    "handle": account.handle if account is not None else None,
                    "state": state,
                    "text": text,
                }
            )
        out.append(
            {
                "name": p.name,
                "display_name": p.display_name,
                "timezone": p.timezone,
                "file": str(p.source),
                "blog": p.blog.url if p.blog else None,
                "identity": {
                    "names": p.identity.names,
                    "handles": p.identity.handles,
                    "domains": p.identity.domains,
                    "emails": p.identity.emails,
                    "phones": p.identity.phones,
                    "terms": p.identity.terms,
                },
                "slots": p.slots,
                "separation": format_duration(p.separation) if p.separation else None,
                "packs": p.guard.packs,
                "rules": p.guard.rules,
                "never_mention": len(p.guard.never_mention),
                "confidential": len(p.guard.confidential) + len(p.guard.confidential_hashes),
                "targets": health,
            }
        )
    return out


def test_credentials(app: App, persona: str, target: str) -> str:
    """``crosspost accounts test``: ask the platform whether the credentials work (the
    adapter's ``verify``, with the context the daemon uses)."""
    from ..contexts import context_for
    from ..errors import UsageError
    from ..platforms.registry import make_adapter

    p = app.personas.get(persona)
    if target not in p.target_names():
        raise UsageError(f"persona '{persona}' has no target '{target}'")
    return f"{target}: {make_adapter(context_for(app, p, target)).verify()}"
