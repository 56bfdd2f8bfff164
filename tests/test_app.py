"""The application's start: what several servers starting at once must agree on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from offhook.app import SESSION_SECRET_SETTING, Offhook
from offhook.settings.config import Config
from offhook.store import Store
from offhook.store.models import Setting


def test_servers_starting_at_once_share_one_session_secret(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Offhook(Config(data_dir=tmp_path), store)
    first.prepare()
    # The second server looked before the first had committed: it sees no secret once, makes
    # its own, and its insert collides with the first server's.
    real_get = Session.get
    blind = {"left": 1}

    def get(self: Session, entity: Any, ident: Any, **kwargs: Any) -> Any:
        if entity is Setting and ident == SESSION_SECRET_SETTING and blind["left"]:
            blind["left"] -= 1
            return None
        return real_get(self, entity, ident, **kwargs)

    monkeypatch.setattr(Session, "get", get)
    second = Offhook(Config(data_dir=tmp_path), store)
    second.prepare()
    assert blind["left"] == 0
    assert second.secret_key == first.secret_key
