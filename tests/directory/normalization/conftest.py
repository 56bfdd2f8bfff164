"""The web app fixtures, for the Settings › Phone numbers page."""

from tests.web.conftest import client, offhook, serve

__all__ = ["client", "offhook", "serve"]
