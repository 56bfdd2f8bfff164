"""A real offhook app over a real store (the web tests' fixtures)."""

from tests.web.conftest import offhook, serve

__all__ = ["offhook", "serve"]
