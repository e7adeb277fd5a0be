"""Commands around the queue: credentials (``accounts``), ``doctor`` and ``guard`` upkeep."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli import app_of, cli, emit_json, format_option
from .errors import ConfigError, CrosspostError, UsageError

if TYPE_CHECKING:
    from .profiles import Persona


def _resolve_target(app: Any, name: str, persona: str | None) -> tuple[Persona, str, str]:
    """``pro-x`` → (persona, "pro-x", platform); ``blog`` needs --persona (or ``P:blog``)."""
    if ":" in name:
        persona, name = name.split(":", 1)
    if name == "blog":
        if not persona:
            raise UsageError("which persona's blog?", hint="use --persona P or 'P:blog'")
        p = app.personas.get(persona)
        if p.blog is None:
            raise UsageError(f"persona '{p.name}' has no blog")
        return p, "blog", p.blog.platform
    owners = app.personas.account_owners()
    if name not in owners:
        raise UsageError(
            f"unknown account '{name}'",
            hint=f"accounts: {', '.join(sorted(owners)) or 'none'}; blogs: 'P:blog'",
        )
    p = app.personas.get(owners[name])
    if persona and persona != p.name:
        raise UsageError(f"account '{name}' belongs to persona '{p.name}', not '{persona}'")
    account = p.account(name)
    assert account is not None
    return p, name, account.platform


def _context(app: Any, p: Persona, target: str) -> Any:
    """The adapter context of a target, waiting ``daemon.request_timeout`` as the daemon does."""
    from .platforms.base import AdapterContext

    timeout = app.settings.daemon.request_timeout.total_seconds()
    if target == "blog":
        return AdapterContext(persona=p, blog=p.blog, timeout=timeout)
    return AdapterContext(persona=p, account=p.account(target), timeout=timeout)


@cli.group()
def accounts() -> None:
    """Credentials in the OS keyring, per persona and account."""


@accounts.command("login")
@click.argument("name")
@click.option("--persona", "-p", help="Persona of a blog target ('blog').")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the secret from standard input (one value, or 'field=value' lines).")
@click.pass_context
def accounts_login(ctx: click.Context, name: str, persona: str | None, from_stdin: bool) -> None:
    """Store the credentials of account NAME (or P:blog) in the keyring."""
    from . import credentials
    from .platforms import adapter_class

    app = app_of(ctx)
    p, target, platform = _resolve_target(app, name, persona)
    cls = adapter_class(platform)
    fields = tuple(getattr(cls, "credential_fields", ()))
    if not fields:
        click.echo(f"{platform} needs no credentials")
        return
    if from_stdin:
        values = _read_stdin(fields)
    elif hasattr(cls, "login_flow"):
        values = cls.login_flow(
            _context(app, p, target),
            lambda prompt, secret=True: click.prompt(prompt, hide_input=secret),
            click.echo,
        )
    else:
        values = {
            f.name: click.prompt(f.prompt, hide_input=f.secret) for f in fields
        }
    credentials.store(p.name, target, values)
    click.echo(
        f"stored {', '.join(sorted(values))} for {target} of persona '{p.name}' in the keyring "
        f"(service {credentials.service_name(p.name, target)}); check with "
        f"'crosspost accounts test {name}'"
    )


def _read_stdin(fields: tuple[Any, ...]) -> dict[str, str]:
    lines = [ln.strip() for ln in sys.stdin.read().splitlines() if ln.strip()]
    names = {f.name for f in fields}
    secret_fields = [f for f in fields if f.secret]
    if len(lines) == 1 and "=" not in lines[0] and len(secret_fields) == 1:
        return {secret_fields[0].name: lines[0]}
    values = {}
    for ln in lines:
        key, sep, value = ln.partition("=")
        if not sep or key.strip() not in names:
            raise UsageError(
                "--stdin expects one secret, or lines 'field=value' with fields "
                + ", ".join(sorted(names))
            )
        values[key.strip()] = value.strip()
    missing = sorted(f.name for f in fields if f.secret and f.name not in values)
    if missing:
        raise UsageError(f"--stdin: missing {', '.join(missing)}")
    return values


@accounts.command("test")
@click.argument("name")
@click.option("--persona", "-p", help="Persona of a blog target ('blog').")
@click.pass_context
def accounts_test(ctx: click.Context, name: str, persona: str | None) -> None:
    """Check the credentials of account NAME against its platform."""
    from .platforms import make_adapter

    app = app_of(ctx)
    p, target, _ = _resolve_target(app, name, persona)
    desc = make_adapter(_context(app, p, target)).verify()
    click.echo(f"ok: {desc}")


@cli.command()
@format_option
@click.pass_context
def doctor(ctx: click.Context, fmt: str) -> None:
    """Check config, keyring, credentials and database; say what to fix."""
    checks = _doctor_checks(app_of(ctx))
    if fmt == "json":
        emit_json({"ok": all(c["ok"] for c in checks), "checks": checks})
    else:
        for c in checks:
            mark = "ok  " if c["ok"] else "FAIL"
            click.echo(f"{mark} {c['check']}: {c['detail']}")
    ctx.exit(0 if all(c["ok"] for c in checks) else 1)


def _doctor_checks(app: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(check: str, ok: bool, detail: str) -> None:
        out.append({"check": check, "ok": ok, "detail": detail})

    try:
        s = app.settings
        add("config", True, str(s.config_path) + ("" if s.config_path.exists() else
                                                  " (absent: defaults; 'crosspost init')"))
    except CrosspostError as e:
        add("config", False, str(e))
        return out
    try:
        personas = app.personas
        add("profiles", True, f"{len(personas)} personas in {s.resolved_profiles_dir()}")
    except CrosspostError as e:
        add("profiles", False, str(e))
        personas = None
    try:
        import keyring
        from keyring.backends import fail

        kr = keyring.get_keyring()
        usable = not isinstance(kr, fail.Keyring)
        from .credentials import HEADLESS_HINT

        add("keyring", usable, type(kr).__module__ + "." + type(kr).__name__
            if usable else HEADLESS_HINT)
    except Exception as e:  # noqa: BLE001 - report whatever the backend raised
        add("keyring", False, f"{type(e).__name__}: {e}")
        usable = False
    try:
        store = app.store
        add("database", True, f"{store.display_url()} (schema {store.current_revision()})")
    except CrosspostError as e:
        add("database", False, str(e))
    if personas is not None and usable:
        from . import credentials
        from .platforms import adapter_class

        for p in personas:
            targets = ([("blog", p.blog.platform)] if p.blog else []) + [
                (a.name, a.platform) for a in p.accounts
            ]
            for target, platform in targets:
                try:
                    fields = tuple(
                        f.name for f in getattr(adapter_class(platform), "credential_fields", ())
                        if f.secret
                    )
                except CrosspostError as e:
                    add(f"{p.name}/{target}", False, str(e))
                    continue
                if not fields:
                    add(f"{p.name}/{target}", True, f"{platform}: no credentials needed")
                    continue
                try:
                    credentials.load(p.name, target, fields)
                    add(f"{p.name}/{target}", True, f"{platform}: credentials present "
                        f"(verify with 'crosspost accounts test {target}')")
                except ConfigError as e:
                    add(f"{p.name}/{target}", False, str(e))
    return out


@cli.group()
def guard() -> None:
    """Leak guard upkeep: hashed confidential identifiers."""


@guard.command("add-confidential")
@click.argument("persona")
@click.argument("identifier", required=False)
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read identifiers from stdin, one a line."
)
@click.pass_context
def add_confidential(
    ctx: click.Context, persona: str, identifier: str | None, from_stdin: bool
) -> None:
    """Add a client identifier to PERSONA's profile as a keyed hash (never in plain text)."""
    import tomlkit

    from . import guard as guard_core
    from .guardkey import guard_secret

    app = app_of(ctx)
    p = app.personas.get(persona)
    if from_stdin:
        names = [ln.strip() for ln in sys.stdin.read().splitlines() if ln.strip()]
    elif identifier:
        names = [identifier]
    else:
        names = [click.prompt("identifier (not echoed)", hide_input=True)]
    secret = guard_secret(app, create=True)
    assert secret is not None
    path: Path = p.source
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    section = doc.setdefault("guard", tomlkit.table())
    hashes = section.setdefault("confidential_hashes", tomlkit.array())
    added = 0
    for n in names:
        h = guard_core.hash_confidential(n, secret)
        if h not in hashes:
            hashes.append(h)
            added += 1
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    tmp.replace(path)
    click.echo(f"added {added} hashed identifier(s) to {path}; the plain text is stored nowhere")
