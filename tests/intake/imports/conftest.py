"""The web app fixtures, for the import pages."""

from tests.web.conftest import client, offhook, serve

__all__ = ["client", "offhook", "serve"]
