"""A real offhook app over a real store (the web tests' fixtures), for the whole-server test."""

from tests.web.conftest import offhook, serve

__all__ = ["offhook", "serve"]
