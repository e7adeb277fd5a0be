"""The application: settings, personas and store loaded once per command, lazily.

Commands ask for what they need (``app.personas``, ``app.store``) so ``crosspost --help``
imports neither pydantic nor SQLAlchemy, and ``crosspost list`` no platform SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .profiles import Personas
    from .settings import Settings
    from .store import Store


class App:
    def __init__(self, config: Path | None = None) -> None:
        self._config = config
        self._stamp: tuple[tuple[str, float], ...] | None = None

    @cached_property
    def settings(self) -> Settings:
        from .settings import load_settings

        return load_settings(self._config)

    @cached_property
    def personas(self) -> Personas:
        from .profiles import load_personas

        s = self.settings
        personas = load_personas(
            s.resolved_profiles_dir(), s.base_dir, known_urls=self.cache_dir / "notify-urls"
        )
        personas.matcher_cache_dir = self.cache_dir / "guard"
        return personas

    def _profiles_stamp(self) -> tuple[tuple[str, float], ...]:
        d = self.settings.resolved_profiles_dir()
        try:
            return tuple(sorted((p.name, p.stat().st_mtime) for p in d.glob("*.toml")))
        except OSError:
            return ()

    def refresh_personas(self) -> None:
        """Reload profiles if a file changed; a broken edit keeps the last good set."""
        from .errors import ConfigError

        stamp = self._profiles_stamp()
        if stamp == self._stamp:
            return
        old = self.__dict__.pop("personas", None)
        try:
            _ = self.personas
        except ConfigError as e:
            if old is None:
                raise
            logging.getLogger("crosspost").error(
                "profiles changed but do not load; keeping the previous ones: %s", e
            )
            self.__dict__["personas"] = old
        self._stamp = stamp

    @cached_property
    def store(self) -> Store:
        from .guardkey import audit_secret
        from .store import Store

        s = self.settings
        # the default folder is made on first use; a database_url naming a missing folder is
        # more likely a typo or an unmounted disk than a wish for a new, empty queue
        store = Store(s.resolved_database_url(), create_folder=s.database_url is None)
        store.audit_key = lambda: audit_secret(self)
        return store

    def nearest_posts(
        self, personas: Sequence[str], ref: datetime, reach: timedelta, per_persona: int
    ) -> list[tuple[str, int, datetime]]:
        """:meth:`Store.nearest_posts`, read straight from a SQLite file when the store is
        not open yet and the file's schema is current (:mod:`crosspost.queuefile`): a
        ``check`` then imports no database layer."""
        if "store" not in self.__dict__:
            from .queuefile import nearest_posts

            found = nearest_posts(
                self.settings.resolved_database_url(), personas, ref, reach, per_persona
            )
            if found is not None:
                return found
        return self.store.nearest_posts(personas, ref, reach, per_persona)

    def queue_may_hold_posts(self) -> bool:
        """False only when the queue is a SQLite file that does not exist yet: nothing is
        queued, and a command that only reads the queue (``check``) need neither create it nor
        import the database layer to learn that. A ``database_url`` whose folder is missing
        too is more likely a typo or an unmounted disk: opening it says so."""
        if "store" in self.__dict__:
            return True
        s = self.settings
        scheme, sep, rest = s.resolved_database_url().partition(":///")
        if not sep or scheme not in ("sqlite", "sqlite+pysqlite"):
            return True
        path = Path(rest.partition("?")[0])
        if not rest or rest.startswith((":memory:", "file:")) or path.exists():
            return True
        return s.database_url is not None and not path.parent.is_dir()

    @property
    def cache_dir(self) -> Path:
        """What adapters learn about servers (instance limits): kept with the configuration's
        data, so a configuration made by ``crosspost init DIR`` writes nothing outside DIR."""
        return self.settings.resolved_data_dir() / "cache"

    @property
    def media_dir(self) -> Path:
        return self.settings.resolved_data_dir() / "media"
