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


class RetrySettings(_Strict):
    max_attempts: int = Field(8, ge=1, description="attempts per target before it fails")
    base_delay: Duration = timedelta(seconds=30)
    max_delay: Duration = timedelta(hours=1)


class DaemonSettings(_Strict):
    #: longest sleep when nothing is due; new posts wake the daemon sooner via change detection
    wake_interval: Duration = timedelta(minutes=5)
    #: how often the daemon looks for CLI changes (SQLite data_version is a cheap read)
    change_check: Duration = timedelta(seconds=1)
    #: how long a claim is valid before another worker may take the delivery over
    lease: Duration = timedelta(minutes=2)
    #: how long to wait for a platform's answer before the outcome counts as unclear
    request_timeout: Duration = timedelta(seconds=30)
    #: how long SIGTERM waits for in-flight deliveries before abandoning them
    shutdown_grace: Duration = timedelta(seconds=20)
    #: deliveries in flight at once per platform ("default" covers the rest)
    concurrency: dict[str, int] = Field(default_factory=lambda: {"default": 4})
    #: processes publishing in parallel (one daemon; raise towards the number of cores when
    #: bursts of thousands of deliveries must go out fast); concurrency is shared among them
    workers: int = Field(default=1, ge=1, le=64)
    #: how long the daemon keeps a secret read from the keyring before reading it again
    credentials_ttl: Duration = timedelta(minutes=5)
    retry: RetrySettings = Field(default_factory=RetrySettings)


class GuardSettings(_Strict):
    #: how far back near-duplicate detection looks at other personas' posts
    correlation_window: Duration = timedelta(days=30)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROSSPOST_", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str | None = None
    profiles_dir: Path | None = None
    data_dir: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: timezone of times typed without a persona (``list --from/--to``); default: the one
    #: all personas share
    timezone: str | None = None
    max_lateness: Duration = timedelta(hours=6)
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
