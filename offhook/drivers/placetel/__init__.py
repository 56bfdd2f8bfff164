"""The `placetel` driver: `push` (the notify API's fields and HMAC), `driver` (the phone
system, click to dial), `web` (its URL and set-up page). README.md sets it up."""

from offhook.drivers.placetel.driver import PlacetelDriver

__all__ = ["PlacetelDriver"]
