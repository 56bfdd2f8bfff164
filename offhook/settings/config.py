"""Process configuration: where the store is and how the server runs.

Firm-wide settings that users change (Settings > Telephony …) live in the store instead, so
they take effect without a restart and are shared by every server of a team.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "offhook"


class Config(BaseSettings):
    """Read from `OFFHOOK_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="OFFHOOK_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    redis_url: str = ""  # set to fan journal updates out between several servers
    demo: bool = False
    # Send the session cookie over HTTPS only; turn on when offhook is served behind TLS.
    secure_cookies: bool = False
    # Seconds a call may ring without news before offhook ends it as missed; a safety net for
    # phone systems that cannot tell which calls still exist.
    ring_timeout: float = 300.0
    # Seconds a call may stay connected without news before offhook ends it (as of its last
    # news, flagged): a line that stopped reporting must not leave a call connected forever.
    connected_timeout: float = Field(12 * 3600.0, gt=0)
    # Seconds a login lasts without requests, and at most.
    session_idle: float = Field(12 * 3600.0, gt=0)
    session_max_age: float = Field(14 * 24 * 3600.0, gt=0)
    # Bytes an address-book upload may have (Addresses › Import); larger files go through
    # `offhook import`. Other requests have fixed, small bounds (offhook/web/limits.py).
    upload_max_bytes: int = Field(20 * 1024 * 1024, gt=0)
    # Connections served at once; more are answered 503 (each open journal is one).
    max_connections: int = Field(2000, gt=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "OFFHOOK_DATABASE_URL must start with sqlite:/// or postgresql:// "
                f"(got {value.split(':', 1)[0]!r})"
            )
        return value

    @property
    def database_name(self) -> str:
        """The SQLite file's name in the data folder: the demo keeps its own (OFFHOOK_DEMO=1)."""
        return "demo" if self.demo else "offhook"

    def sqlite_path(self, name: str | None = None) -> Path | None:
        """The SQLite file the store is in, unless OFFHOOK_DATABASE_URL names another database."""
        if self.database_url:
            return None
        return self.data_dir / f"{name or self.database_name}.sqlite"

    def resolved_database_url(self, name: str | None = None) -> str:
        if self.database_url:
            url = self.database_url
            # psycopg 3 is the driver we ship; accept the plain scheme people copy from docs.
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{self.data_dir / ((name or self.database_name) + '.sqlite')}"
