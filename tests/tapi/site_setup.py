"""A real offhook server with a TAPI phone system, its lines and an agent token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from offhook.app import Offhook
from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.agent_tokens import create_agent_token
from offhook.settings.config import Config
from offhook.settings.users import add_user, create_token
from offhook.store import Store
from tests.factories import PASSWORD
from tests.livesite import free_port, live_server
from tests.sip.journal_site import JournalClient

LINE_201 = "Swyx Line 201 (Anna Keller)"
LINE_202 = "Swyx Line 202 (Bruno Frei)"


@dataclass
class TapiSite:
    store: Store
    base: str
    port: int
    client: JournalClient  # Anna's journal
    agent_token: str  # may serve line 201 only
    line_201: int
    line_202: int
    system_id: int
    admin_token: str
    data_dir: Path


def prepare(store: Store) -> tuple[int, int, int, str, str, str]:
    with store.session() as session:
        install_driver(session, "tapi", auto_load=True)
        admin = add_user(session, "root", "Admin", PASSWORD, "admin")
        anna = add_user(session, "anna", "Anna Keller", PASSWORD, "user")
        bruno = add_user(session, "bruno", "Bruno Frei", PASSWORD, "user")
        system = add_phone_system(session, "tapi", "Office PC", {"heartbeat": 5})
        line_201 = add_line(session, anna, system, LINE_201).id
        line_202 = add_line(session, bruno, system, LINE_202).id
        agent_token = create_agent_token(session, anna, system.id, [line_201], "Anna's PC")
        return (
            system.id,
            line_201,
            line_202,
            agent_token,
            create_token(session, anna, "journal"),
            create_token(session, admin, "admin"),
        )


@contextmanager
def tapi_site(store: Store, data_dir: Path, port: int | None = None) -> Iterator[TapiSite]:
    system_id, line_201, line_202, agent_token, anna_token, admin_token = prepare(store)
    port = port or free_port()
    with ExitStack() as stack:
        client = JournalClient(anna_token)
        stack.callback(client.close)
        base = stack.enter_context(live_server(Offhook(Config(data_dir=data_dir), store), port))
        client.connect(base)
        yield TapiSite(
            store,
            base,
            port,
            client,
            agent_token,
            line_201,
            line_202,
            system_id,
            admin_token,
            data_dir,
        )
