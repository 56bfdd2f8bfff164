"""The start-up warm-up runs the recording path and leaves nothing behind."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from offhook.journal.warmup import warm_up
from offhook.store import Store
from offhook.store.models import Call, CallEventRecord
from tests import factories


def test_the_warm_up_records_a_call_and_undoes_it(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    factories.user_with_line(store)
    with caplog.at_level(logging.WARNING, logger="offhook.journal.warmup"):
        warm_up(store)
    assert caplog.records == []  # it ran through (a failure is logged, not raised)
    with store.session() as session:
        assert session.scalar(select(func.count(Call.id))) == 0
        assert session.scalar(select(func.count(CallEventRecord.id))) == 0


def test_without_lines_there_is_nothing_to_warm_up(store: Store) -> None:
    warm_up(store)
    with store.session() as session:
        assert session.scalar(select(func.count(Call.id))) == 0
