"""Commands around the queue: credentials (``accounts``), ``doctor`` and ``guard`` upkeep.

``cli`` registers ``accounts``, ``doctor`` and ``guard`` on the main group.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli_common import app_of, emit_json, format_option
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
    """The adapter context of a target, built as the daemon builds it."""
    from .contexts import context_for

    return context_for(app, p, target)


@click.group()
def accounts() -> None:
    """Credentials in the OS keyring, per persona and account."""


@accounts.command("login")
@click.argument("name")
@click.option("--persona", "-p", help="Persona of a blog target ('blog').")
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Read the secret from standard input (one value, or 'field=value' lines).",
)
@click.pass_context
def accounts_login(ctx: click.Context, name: str, persona: str | None, from_stdin: bool) -> None:
    """Store the credentials of account NAME (or P:blog) in the keyring."""
    from . import credentials
    from .platforms.registry import adapter_class, spec

    app = app_of(ctx)
    p, target, platform = _resolve_target(app, name, persona)
    fields = spec(platform).credential_fields
    if not fields:
        click.echo(f"{platform} needs no credentials")
        return
    if from_stdin:
        values = _read_stdin(fields)
    else:
        values = adapter_class(platform).login_flow(  # type: ignore[attr-defined]
            _context(app, p, target),
            lambda prompt, secret=True: click.prompt(prompt, hide_input=secret),
            click.echo,
        )
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
    from .platforms.registry import make_adapter

    app = app_of(ctx)
    p, target, _ = _resolve_target(app, name, persona)
    desc = make_adapter(_context(app, p, target)).verify()
    click.echo(f"ok: {desc}")


@click.command()
@format_option
@click.pass_context
def doctor(ctx: click.Context, fmt: str) -> None:
    """Check what publishing needs: config, folders, keyring, credentials and database."""
    checks = _doctor_checks(app_of(ctx))
    if fmt == "json":
        emit_json({"ok": all(c["ok"] for c in checks), "checks": checks})
    else:
        for c in checks:
            mark = "ok  " if c["ok"] else "FAIL"
            click.echo(f"{mark} {c['check']}: {c['detail']}")
    ctx.exit(0 if all(c["ok"] for c in checks) else 1)


class _Checks(list[dict[str, Any]]):
    """Doctor's findings: ``detail`` is the whole line (with the fix), ``fix`` the fix alone."""

    def ok(self, check: str, detail: str) -> None:
        self.append({"check": check, "ok": True, "detail": detail, "fix": None})

    def fail(self, check: str, problem: str, fix: str | None) -> None:
        detail = f"{problem} ({fix})" if fix else problem
        self.append({"check": check, "ok": False, "detail": detail, "fix": fix})

    def error(self, check: str, e: CrosspostError) -> None:
        self.fail(check, e.message, e.hint)


def _doctor_checks(app: Any) -> list[dict[str, Any]]:
    out = _Checks()
    try:
        s = app.settings
        out.ok(
            "config",
            str(s.config_path)
            + ("" if s.config_path.exists() else " (absent: defaults; 'crosspost init')"),
        )
    except CrosspostError as e:
        out.fail("config", str(e), None)
        return out
    try:
        personas = app.personas
        out.ok("profiles", f"{len(personas)} personas in {s.resolved_profiles_dir()}")
    except CrosspostError as e:
        out.fail("profiles", str(e), None)
        personas = None
    keyring_problem = _check_keyring(out)
    _check_database(out, s)
    if personas is not None:
        for p in personas:
            for target, platform in p.targets():
                _check_target(out, app, p, target, platform, keyring_problem)
            _check_notify(out, p, keyring_problem)
    return out


def _check_notify(out: _Checks, p: Persona, keyring_problem: CrosspostError | None) -> None:
    """A notify URL's password belongs in the keyring; a keyring label must be stored."""
    from .notifysend import add_command, inline_secrets, keyring_label, keyring_service, scheme

    for i, entry in enumerate(p.notify):
        check = f"{p.name} notify[{i}] ({scheme(entry)})"
        label = keyring_label(entry)
        if label is None:
            if inline_secrets(entry):
                out.fail(
                    check,
                    f"{p.source} holds this URL's password or token",
                    f"run {add_command(p.name, 'LABEL')}, paste the URL, and write "
                    "'keyring:LABEL' in its place",
                )
            else:
                out.ok(check, "in the profile, no password in it")
            continue
        if keyring_problem is not None:
            out.error(check, keyring_problem)
            continue
        from . import credentials

        if credentials.get_secret(keyring_service(p.name), label):
            out.ok(check, f"'{label}' is in the keyring")
        else:
            out.fail(
                check,
                f"no notify URL '{label}' in the keyring",
                f"run {add_command(p.name, label)}",
            )


#: seconds the keyring gets to answer; one waiting for an unlock prompt never does
KEYRING_PROBE_TIMEOUT = 10.0


def _would_prompt(kr: object) -> bool:
    """Encrypted file keyrings ask for their password on a terminal; crosspost gives
    keyrings.cryptfile its password from KEYRING_CRYPTFILE_PASSWORD, keyrings.alt's asks
    every time."""
    name = type(kr).__name__
    if name == "CryptFileKeyring":
        return not os.environ.get("KEYRING_CRYPTFILE_PASSWORD") and (
            getattr(kr, "_keyring_key", None) is None
        )
    return name == "EncryptedKeyring"


def _check_keyring(out: _Checks) -> CrosspostError | None:
    """Is the keyring usable where the daemon runs: a real backend that answers without
    asking anyone? Returns the problem (None: usable)."""
    from .credentials import HEADLESS_HINT

    try:
        import keyring
        from keyring.backends import fail, null

        kr = keyring.get_keyring()
    except Exception as e:  # noqa: BLE001 - report whatever the backend raised
        broken = ConfigError(
            f"the keyring cannot be loaded ({type(e).__name__}: {e})", hint=HEADLESS_HINT
        )
        out.error("keyring", broken)
        return broken
    name = type(kr).__module__ + "." + type(kr).__name__
    problem: CrosspostError | None = None
    if isinstance(kr, fail.Keyring | null.Keyring):
        problem = ConfigError(f"no usable keyring backend ({name})", hint=HEADLESS_HINT)
    elif _would_prompt(kr):
        problem = ConfigError(
            f"the keyring {name} would ask for its password on a terminal, which a daemon "
            "does not have",
            hint="use keyrings.cryptfile and set KEYRING_CRYPTFILE_PASSWORD where the daemon "
            "runs (README, 'Credentials on a server'; systemd/crosspost.service)",
        )
    else:
        problem = _probe_keyring(name)
    if problem is None:
        out.ok("keyring", f"{name}, answers without a prompt")
    else:
        out.error("keyring", problem)
    return problem


def _probe_keyring(name: str) -> CrosspostError | None:
    """Read an entry that does not exist: it unlocks the keyring as a real read would, and
    changes nothing. In a thread, so a backend waiting for a prompt cannot hang doctor."""
    from .credentials import HEADLESS_HINT, get_secret

    result: list[CrosspostError | None] = []

    def probe() -> None:
        try:
            get_secret("crosspost/doctor", "probe")
            result.append(None)
        except CrosspostError as e:
            result.append(e)
        except Exception as e:  # noqa: BLE001 - whatever the backend raised
            result.append(
                ConfigError(f"the keyring {name} failed: {type(e).__name__}", hint=HEADLESS_HINT)
            )

    t = threading.Thread(target=probe, name="keyring-probe", daemon=True)
    t.start()
    t.join(KEYRING_PROBE_TIMEOUT)
    if not result:
        return ConfigError(
            f"the keyring {name} did not answer within {KEYRING_PROBE_TIMEOUT:g} seconds "
            "(is it locked, waiting for someone to unlock it?)",
            hint="unlock it for the user running the daemon, or use an encrypted file "
            "keyring unlocked by KEYRING_CRYPTFILE_PASSWORD (README, 'Credentials on a server')",
        )
    return result[0]


def _check_database(out: _Checks, s: Any) -> None:
    """Opens, this user can write it, and its schema is the one this version uses."""
    from .store import check_database

    try:
        db = check_database(s.resolved_database_url(), create_folder=s.database_url is None)
    except CrosspostError as e:
        out.error("database", e)
        return
    problems, fixes = [], []
    if db.read_only is not None:
        problems.append(
            f"read-only here ({db.read_only}): the daemon cannot record what it publishes"
        )
        fixes.append(
            "make the database file and its folder writable for the user running the daemon"
        )
    if db.state == "older":
        problems.append(f"schema {db.revision} is older than this version's {db.head}")
        fixes.append(
            "crosspost upgrades it the next time it opens the database with write "
            "access (e.g. 'crosspost list'); back the file up first if in doubt"
        )
    elif db.state == "newer":
        problems.append(
            f"schema {db.revision} was written by a newer crosspost (this version "
            f"knows up to {db.head})"
        )
        fixes.append(
            "upgrade crosspost (pip install -U crosspost), or point database_url at "
            "another database"
        )
    if problems:
        out.fail("database", f"{db.url}: " + "; ".join(problems), "; ".join(fixes))
    elif db.state == "new":
        out.ok(
            "database",
            f"{db.url} (empty or not created yet: the first 'crosspost queue' sets it up)",
        )
    else:
        out.ok("database", f"{db.url} (schema {db.revision}, current)")


def _check_target(
    out: _Checks,
    app: Any,
    p: Persona,
    target: str,
    platform: str,
    keyring_problem: CrosspostError | None,
) -> None:
    """A blog folder or feed file that exists and can be written; credentials that are in
    the keyring (not that the platform accepts them: 'crosspost accounts test' asks it)."""
    from . import credentials
    from .platforms.registry import make_adapter, spec

    check = f"{p.name}/{target}"
    try:
        fields = tuple(f.name for f in spec(platform).credential_fields if f.secret)
        if spec(platform).local:  # publishes into local files: verify looks at folders only
            _require_folder(p, target)
            out.ok(check, f"{platform}: {make_adapter(_context(app, p, target)).verify()}")
            return
        if not fields:
            out.ok(check, f"{platform}: no credentials needed")
            return
        if keyring_problem is not None:
            out.fail(
                check,
                f"{platform}: credentials not checked: {keyring_problem.message}",
                keyring_problem.hint,
            )
            return
        credentials.load(p.name, target, fields)
        out.ok(
            check,
            f"{platform}: credentials present (verify with 'crosspost accounts test {target}')",
        )
    except CrosspostError as e:
        out.error(check, e)


def _require_folder(p: Persona, target: str) -> None:
    """The folder must be there: publishing would create a missing last folder, and a typo in
    the profile would then go unnoticed while the site generator never sees the posts."""
    config = p.blog if target == "blog" else p.account(target)
    local = config.local_folder() if config is not None else None
    if local is None:
        return
    folder, key = local
    if not folder.is_dir():
        raise ConfigError(
            f"folder {folder} does not exist",
            hint=f"create it (mkdir -p {folder}) if it is right, or fix {key} in {p.source}",
        )


@click.group()
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


@guard.command("export-key")
def export_key() -> None:
    """Print the guard key, to move it to another machine with 'guard import-key'.

    The key turns hashed client names back into checkable ones for anyone holding a list of
    candidate names, so treat it as the secret it is: pipe it, do not save it in a file.
    """
    from .credentials import get_secret
    from .errors import UsageError
    from .guardkey import SERVICE, USERNAME

    value = get_secret(SERVICE, USERNAME)
    if value is None:
        raise UsageError(
            "there is no guard key in this keyring yet",
            hint="it is made by the first 'crosspost guard add-confidential' or audited block",
        )
    click.echo(value)


@guard.command("import-key")
@click.option("--force", is_flag=True, help="Replace a different key already in the keyring.")
def import_key(force: bool) -> None:
    """Store a guard key read from stdin (the output of 'guard export-key' elsewhere).

    Profiles with hashed confidential names and a signed audit log need the key they were
    written with; a different key already here is kept unless --force is given, since
    replacing it makes the hashes and signatures made with it uncheckable.
    """
    from .credentials import get_secret, set_secret
    from .errors import UsageError
    from .guardkey import SERVICE, USERNAME, parse_key

    value = parse_key(sys.stdin.read())
    current = get_secret(SERVICE, USERNAME)
    if current is not None and current != value and not force:
        raise UsageError(
            "this keyring already holds a different guard key",
            hint="hashes and audit signatures made with it would no longer check; give --force "
            "to replace it anyway",
        )
    set_secret(SERVICE, USERNAME, value)
    click.echo("guard key stored in the keyring" if current != value else "guard key unchanged")
