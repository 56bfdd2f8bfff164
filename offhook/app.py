"""The offhook application: configuration, store, lines and live push, owned in one place."""

from __future__ import annotations

import asyncio
import logging
import secrets

from sqlalchemy.exc import IntegrityError

from offhook.directory.normalization import NormalizationRunner
from offhook.journal.push import JournalHub
from offhook.lines.leases import leases_for
from offhook.lines.running import Lines
from offhook.settings.config import Config
from offhook.store import Store
from offhook.store.models import Setting

log = logging.getLogger(__name__)

SESSION_SECRET_SETTING = "secret_key"  # noqa: S105 - the setting's name; the key is random


class Offhook:
    """One offhook server. The web app and the CLI are thin layers over this."""

    def __init__(self, config: Config | None = None, store: Store | None = None) -> None:
        self.config = config or Config()
        self.store = store or Store(self.config.resolved_database_url())
        self.hub = JournalHub()
        self.lines = Lines(
            self.store,
            self.hub,
            ring_timeout=self.config.ring_timeout,
            connected_timeout=self.config.connected_timeout,
        )
        # Several servers on one PostgreSQL: each phone system is run by one of them.
        self.lines.leases = leases_for(self.store.url)
        # "Normalize phone numbers" in the background: after a change of the numbering plan,
        # and on start when a run was cut short.
        self.normalization = NormalizationRunner(self.store)
        self.secret_key = ""
        self.started = False

    @property
    def demo(self) -> bool:
        return self.config.demo

    def prepare(self) -> None:
        """Migrate the store and make sure the session secret exists (blocking)."""
        self.store.migrate()
        self.secret_key = self._secret_key()

    def _secret_key(self) -> str:
        try:
            return self._kept_secret_key()
        except IntegrityError:
            # Another server of the team made it at the same moment: theirs is the one.
            return self._kept_secret_key()

    def _kept_secret_key(self) -> str:
        # Kept in the store, so sessions survive restarts and every server of a team agrees.
        with self.store.session() as session:
            row = session.get(Setting, SESSION_SECRET_SETTING)
            if row is None:
                row = Setting(key=SESSION_SECRET_SETTING, value={"key": secrets.token_urlsafe(48)})
                session.add(row)
            return str(row.value["key"])

    async def start(self) -> None:
        if not self.secret_key:
            await asyncio.to_thread(self.prepare)
        if self.config.redis_url:
            await self.hub.connect_redis(self.config.redis_url)
            await self.lines.relay.connect(self.config.redis_url)
        await self.lines.start()
        await self.normalization.start()
        self.started = True

    def on_numbering_changed(self) -> None:
        """Settings > Telephony now reads numbers differently: normalize the stored ones again."""
        self.normalization.request()

    async def stop(self) -> None:
        await self.normalization.stop()
        await self.lines.stop()
        await self.hub.close()
        self.started = False
