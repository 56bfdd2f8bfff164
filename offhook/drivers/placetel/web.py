"""The Placetel notify URL and set-up page (see `offhook.drivers.webhooks.web`)."""

from offhook.drivers.placetel.driver import PlacetelDriver
from offhook.drivers.webhooks.web import hook_router

router = hook_router(PlacetelDriver)
