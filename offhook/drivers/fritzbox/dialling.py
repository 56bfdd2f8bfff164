"""Click to dial through the box's dialling aid (Wählhilfe), over TR-064 with fritzconnection.

The box rings the chosen phone; when the user picks it up, the box dials the number. Two SOAP
actions of the `X_VoIP` service do it: `X_AVM-DE_DialSetConfig` chooses the phone (by the name
the box gives it under Telefonie › Anrufe › Wählhilfe, e.g. `DECT: Mobilteil 1`), then
`X_AVM-DE_DialNumber` dials. `X_AVM-DE_DialHangup` gives up a dial that has not connected yet.
Every request carries the box user's credentials (HTTP digest authentication).

fritzconnection blocks (it uses requests); the driver runs these calls in a worker thread. The
connection is set up once (it reads the box's service descriptions, which takes a moment) and
kept; it is set up again after an error.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import requests
from fritzconnection import FritzConnection
from fritzconnection.core.exceptions import (
    FritzActionError,
    FritzArgumentError,
    FritzAuthorizationError,
    FritzConnectionException,
    FritzServiceError,
)

from offhook.drivers.contract import DriverError

log = logging.getLogger(__name__)

SERVICE = "X_VoIP1"


@dataclass(frozen=True, slots=True)
class Tr064Access:
    host: str
    port: int
    user: str
    password: str
    use_tls: bool
    timeout: float


class DiallingAid:
    """The box's dialling aid, reached through TR-064."""

    def __init__(self, access: Tr064Access) -> None:
        self._access = access
        self._connection: FritzConnection | None = None
        self._lock = threading.Lock()  # one SOAP exchange at a time: the aid is one

    @property
    def where(self) -> str:
        return f"{self._access.host}:{self._access.port}"

    def dial(self, phone_name: str, number: str) -> None:
        """Ring `phone_name`, then dial `number` once it is picked up. Blocks."""
        with self._lock:
            self._call("X_AVM-DE_DialSetConfig", {"NewX_AVM-DE_PhoneName": phone_name}, phone_name)
            self._call("X_AVM-DE_DialNumber", {"NewX_AVM-DE_PhoneNumber": number}, phone_name)

    def hangup(self) -> None:
        """Give up the dial in progress. Blocks."""
        with self._lock:
            self._call("X_AVM-DE_DialHangup", {}, "")

    def _connect(self) -> FritzConnection:
        if self._connection is None:
            access = self._access
            self._connection = FritzConnection(
                address=access.host,
                port=access.port,
                user=access.user,
                password=access.password,
                use_tls=access.use_tls,
                timeout=access.timeout,
            )
        return self._connection

    def _call(self, action: str, arguments: dict[str, str], phone_name: str) -> None:
        try:
            connection = self._connect()
        except (FritzConnectionException, requests.RequestException, OSError) as exc:
            # Setting up reads the box's descriptions: no answer, or none that is TR-064.
            raise DriverError(
                f"Cannot reach the FRITZ!Box's TR-064 interface at {self.where}: is "
                "'Zugriff für Anwendungen zulassen' on (Heimnetz › Netzwerk › "
                "Netzwerkeinstellungen)?"
            ) from exc
        try:
            connection.call_action(SERVICE, action, arguments=arguments)
        except FritzAuthorizationError as exc:
            self._connection = None
            raise DriverError(
                f"The FRITZ!Box at {self.where} refused the user name or password (TR-064)."
            ) from exc
        except FritzServiceError as exc:
            raise DriverError(
                f"The FRITZ!Box at {self.where} offers no dialling aid over TR-064: turn on "
                "'Zugriff für Anwendungen zulassen' (Heimnetz › Netzwerk › Netzwerkeinstellungen)."
            ) from exc
        except (FritzArgumentError, FritzActionError) as exc:
            if action == "X_AVM-DE_DialSetConfig":
                raise DriverError(
                    f"The FRITZ!Box does not know the phone {phone_name!r}: give the line the "
                    "phone's name exactly as Telefonie › Anrufe › Wählhilfe lists it."
                ) from exc
            raise DriverError(f"The FRITZ!Box could not dial: {exc}") from exc
        except FritzConnectionException as exc:
            self._connection = None
            raise DriverError(
                f"The FRITZ!Box at {self.where} refused to dial ({exc}). Is the dialling aid "
                "on (Telefonie › Anrufe › Wählhilfe verwenden)?"
            ) from exc
        except (requests.RequestException, OSError) as exc:
            self._connection = None
            raise DriverError(
                f"Cannot reach the FRITZ!Box's TR-064 interface at {self.where}."
            ) from exc
        except Exception as exc:
            # An answer fritzconnection cannot read (a box that is no FRITZ!Box, a proxy's
            # error page): the user gets a message, the log the details.
            log.warning("TR-064 %s at %s failed", action, self.where, exc_info=True)
            self._connection = None
            raise DriverError(
                f"The FRITZ!Box at {self.where} gave an answer offhook cannot read."
            ) from exc
