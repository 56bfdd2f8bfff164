"""A user may keep a bounded number of live journals open: one login cannot tie the server up
with streams (issue 8, deliverable 2)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from offhook.web.api.journal import MAX_STREAMS_PER_USER
from tests import factories
from tests.livesite import live_server, logged_in
from tests.web.test_journal import wait_for


def _open(stack: ExitStack, client: httpx.Client) -> Any:
    response = stack.enter_context(client.stream("GET", "/api/journal/stream"))
    if response.status_code == 200:
        # Kept with the response: dropping the iterator would close the stream.
        response.lines = response.iter_lines()
        assert next(response.lines) == "event: snapshot"
    return response


def test_live_journals_per_user_are_capped(sqlite_store: Store, tmp_path: Path) -> None:
    factories.user_with_line(sqlite_store)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        anna, _ = logged_in(base, "anna")
        anna = httpx.Client(
            base_url=base,
            cookies=dict(anna.cookies),
            limits=httpx.Limits(max_connections=MAX_STREAMS_PER_USER + 5),
            timeout=10,
        )
        ben_line = factories.user_with_line(sqlite_store, login="ben", role="user")
        assert ben_line
        ben, _ = logged_in(base, "ben")
        with ExitStack() as stack:
            streams = [_open(stack, anna) for _ in range(MAX_STREAMS_PER_USER)]
            assert all(stream.status_code == 200 for stream in streams)
            refused = _open(stack, anna)
            assert refused.status_code == 429
            refused.read()
            assert "live journals open already" in refused.json()["detail"]
            # Other users are not affected.
            assert _open(stack, ben).status_code == 200

            streams[0].close()
            wait_for(
                lambda: _open(stack, anna).status_code == 200,
                "a closed stream to make room for another",
            )
        anna.close()
        ben.close()
