"""Global settings: ``config.toml`` overlaid with ``CROSSPOST_*`` environment variables.

The file is found via ``--config``, then ``CROSSPOST_CONFIG``, then the platform's user config
dir. Nested keys are overridden with a double underscore, e.g.
``CROSSPOST_DAEMON__LEASE=2m``. A missing file is fine (defaults apply); a broken one is an
error that names the file and the line.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .durations import Duration
from .errors import ConfigError
from .validation import describe_validation_error, timezone_name

APP_NAME = "crosspost"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _about(text: str, example: Any = None) -> dict[str, Any]:
    """``description`` (the comment above the key in config.example.toml, which is generated
    from these models) and, for keys left out by default, the value the example shows."""
    out: dict[str, Any] = {"description": " ".join(text.split())}
    if example is not None:
        out["json_schema_extra"] = {"example": example}
    return out


class RetrySettings(_Strict):
    """Transient errors (timeouts, 5xx, 429) are retried with exponential backoff and jitter."""

    max_attempts: int = Field(8, ge=1, **_about("Attempts per target before it fails."))
    base_delay: Duration = Field(
        timedelta(seconds=30), **_about("Wait before the first retry; it doubles each time.")
    )
    max_delay: Duration = Field(timedelta(hours=1), **_about("The longest wait between retries."))


class DaemonSettings(_Strict):
    wake_interval: Duration = Field(
        timedelta(minutes=5),
        **_about(
            """Longest sleep when nothing is due. The daemon also wakes at the next due time,
            and within about `change_check` when the CLI queues or reschedules something."""
        ),
    )
    change_check: Duration = Field(
        timedelta(seconds=1),
        **_about("How often the daemon looks for changes the CLI made (a cheap read)."),
    )
    request_timeout: Duration = Field(
        timedelta(seconds=30),
        **_about(
            """How long to wait for a platform's answer (each request of every adapter, and of
            `crosspost accounts test`); after that the outcome is unclear and the next attempt
            first asks the platform whether the post exists."""
        ),
    )
    lease: Duration = Field(
        timedelta(minutes=2),
        **_about(
            "How long a claimed delivery stays claimed; a crashed worker's claims expire "
            "after this."
        ),
    )
    shutdown_grace: Duration = Field(
        timedelta(seconds=20),
        **_about(
            "On SIGTERM/SIGINT: how long in-flight deliveries may finish before they are abandoned."
        ),
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        **_about(
            """Processes publishing in parallel (one daemon, one lock). One is plenty for a
            person's queue; on a busy queue, raise it towards the number of cores: one Python
            process publishes on one core. The concurrency below is shared among them."""
        ),
    )
    credentials_ttl: Duration = Field(
        timedelta(minutes=5),
        **_about(
            """How long the daemon keeps a secret read from the keyring before reading it
            again (a new `crosspost accounts login` is read at once after a failure of that
            account)."""
        ),
    )
    login_warning: Duration = Field(
        timedelta(days=7),
        **_about(
            """How long before an account's login ends (LinkedIn and Threads tokens expire)
            the persona is notified and `crosspost status` reports it, so a new `crosspost
            accounts login` comes before a post fails."""
        ),
    )
    concurrency: dict[str, int] = Field(
        default_factory=lambda: {"default": 4},
        **_about(
            'Requests in flight at once, per platform; "default" applies to the others.',
            example={"x": 2, "mastodon": 8},
        ),
    )
    health: str | None = Field(
        None,
        **_about(
            """Serve GET /health on this address ("host:port") for monitoring: 200 and the
            JSON of `crosspost status --format json` when healthy, 503 with the same JSON when
            something needs the user. Off by default; keep it on 127.0.0.1 unless a monitor
            elsewhere must reach it (it shows persona and account names).""",
            example="127.0.0.1:8787",
        ),
    )
    feeds_interval: Duration = Field(
        timedelta(minutes=15),
        **_about(
            """How often the daemon reads the personas' `[[feeds]]` for new items (a
            conditional GET: an unchanged feed costs one short answer)."""
        ),
    )
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @field_validator("feeds_interval")
    @classmethod
    def _feeds_interval(cls, v: timedelta) -> timedelta:
        if v < timedelta(seconds=1):
            raise ValueError('feeds_interval must be at least 1s; the default is "15m"')
        return v

    @field_validator("health")
    @classmethod
    def _health(cls, v: str | None) -> str | None:
        if v is not None:
            health_address(v)
        return v


class GuardSettings(_Strict):
    correlation_window: Duration = Field(
        timedelta(days=30),
        **_about("How far back near-duplicate detection compares with other personas' posts."),
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROSSPOST_", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str | None = Field(
        None,
        **_about(
            """Where the queue lives. Default: crosspost.db in data_dir. A relative SQLite path
            is resolved against the folder this file is in (sqlite:////abs/path.db is
            absolute); its folder must exist. `crosspost init DIR` sets this and data_dir
            inside DIR, so two configurations never share a queue unless their database_url
            says so. For several daemons sharing one queue, use PostgreSQL:
            "postgresql://user@host/dbname" (psycopg 3).""",
            example="sqlite:///data/crosspost.db",
        ),
    )
    profiles_dir: Path | None = Field(
        None,
        **_about(
            "One TOML file per persona; the file name (without .toml) is the persona's name.",
            example="profiles",
        ),
    )
    data_dir: Path | None = Field(
        None,
        **_about(
            """Where media snapshots and the default database go. Default: the user data
            folder (~/.local/share/crosspost on Linux).""",
            example="data",
        ),
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", **_about("DEBUG, INFO, WARNING or ERROR. Secrets are never logged at any level.")
    )
    timezone: str | None = Field(
        None,
        **_about(
            """Timezone of times typed without a persona (`crosspost list --from/--to`).
            Default: the timezone all personas share; with --persona, the persona's own.""",
            example="America/Chicago",
        ),
    )
    max_lateness: Duration = Field(
        timedelta(hours=6),
        **_about(
            """A post found overdue by more than this after downtime is held (not published
            late, not dropped): `crosspost list --state held`, then `crosspost release ID` or
            `reschedule`."""
        ),
    )
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    guard: GuardSettings = Field(default_factory=GuardSettings)

    #: where the settings came from; not a setting itself
    config_path: Path | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # environment beats the file, which arrives as init kwargs
        return (env_settings, init_settings)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else timezone_name(v)

    @property
    def base_dir(self) -> Path:
        """Relative paths in config and profiles are resolved against the config's folder."""
        if self.config_path is not None:
            return self.config_path.parent
        return Path.cwd()

    def resolved_profiles_dir(self) -> Path:
        p = self.profiles_dir or Path("profiles")
        return p if p.is_absolute() else self.base_dir / p

    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir if self.data_dir.is_absolute() else self.base_dir / self.data_dir
        from platformdirs import user_data_path

        return user_data_path(APP_NAME)

    def resolved_database_url(self) -> str:
        """``database_url`` with a relative SQLite path made absolute against the config's
        folder, like every other path here (SQLite alone would take it from the current
        folder, so the queue would depend on where a command was started)."""
        if self.database_url:
            return resolve_sqlite_path(self.database_url, self.base_dir)
        return f"sqlite:///{self.resolved_data_dir() / 'crosspost.db'}"


def health_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8787"`` → ("127.0.0.1", 8787); ``"[::1]:8787"`` for IPv6."""
    host, sep, port = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not an address; write it as host:port, e.g. 127.0.0.1:8787")
    return host, int(port)


def resolve_sqlite_path(url: str, base: Path) -> str:
    """``sqlite:///data/q.db`` → ``sqlite:////<base>/data/q.db``; other URLs unchanged."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme not in ("sqlite", "sqlite+pysqlite"):
        return url
    path, q, query = rest.partition("?")
    if not path or path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return url
    return f"{scheme}:///{base / path}{q}{query}"


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def find_config(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get("CROSSPOST_CONFIG")
    if env:
        return Path(env)
    return default_config_path()


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning every failure into a message naming the file and the fix."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {e.start}); save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None


def load_settings(config: Path | None = None) -> Settings:
    path = find_config(config)
    explicit = config is not None or bool(os.environ.get("CROSSPOST_CONFIG"))
    data: dict[str, Any] = {}
    if path.exists():
        data = read_toml(path)
    elif explicit:
        raise ConfigError(
            f"{path}: config file not found",
            hint="run 'crosspost init' to create one, or fix --config / CROSSPOST_CONFIG",
        )
    try:
        settings = Settings(**data)
    except ValidationError as e:
        raise ConfigError(describe_validation_error(e, str(path), Settings)) from None
    settings.config_path = path.resolve()
    return settings
