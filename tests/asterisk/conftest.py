"""Fixtures for the real-Asterisk tests: the build (cached, see build.py) and a running server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.asterisk.build import BuildFailed, SourceMissing, ensure_built
from tests.web.conftest import offhook, serve  # noqa: F401 - the app fixtures, for test_caller_name


@pytest.fixture(scope="session")
def asterisk_prefix() -> Path:
    """The built Asterisk; built on first use (minutes), then taken from the cache."""
    try:
        return ensure_built()
    except SourceMissing as exc:
        pytest.skip(str(exc))
    except BuildFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture
def phone_ports() -> Iterator[dict[str, int]]:
    from tests.asterisk.server import free_udp_port

    yield {"201": free_udp_port(), "202": free_udp_port()}
