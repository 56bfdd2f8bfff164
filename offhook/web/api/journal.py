"""The journal's HTTP side: today's entries, the live stream, and actions on entries."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import defaultdict
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from offhook.app import Offhook
from offhook.calls.missed import mark_done
from offhook.crm.addresses import link_call
from offhook.directory.lookup import lookup
from offhook.journal import entries as journal
from offhook.journal.entry import STREAM_MESSAGES, JournalSnapshot, LineOverview, StreamMessage
from offhook.journal.push import event_text
from offhook.lines.reasons import reason_text
from offhook.lines.running import LineError
from offhook.numbers import parse_incoming
from offhook.settings import language
from offhook.settings.clock import field_date
from offhook.settings.language import N_, _
from offhook.settings.telephony import SettingsCache, numbering_plan
from offhook.store.models import Address, Line, Preference
from offhook.web.context import offhook_of
from offhook.web.security import User_, csrf_protect

router = APIRouter(prefix="/api", dependencies=[Depends(csrf_protect)], tags=["journal"])

PANEL = "journal_panel"
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
ScreenClass = Literal["phone", "tablet", "desktop"]
KEEPALIVE_SECONDS = 15.0
# Live journals one user may keep open on one server: each holds a connection and a queue, so
# that many tabs are plenty and more would only let one login tie up the server.
MAX_STREAMS_PER_USER = 20


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


# What /api/docs says about the stream: each `event:` line names a message, and the `data:` line
# after it is that message as JSON.
STREAM_RESPONSE: dict[str, Any] = {
    "model": StreamMessage,
    "description": "Server-sent events, each a JSON message of the type its `event:` names:\n\n"
    + "\n".join(
        f"- `{name}`: {(model.__doc__ or '').strip()}" for name, model in STREAM_MESSAGES.items()
    ),
}


def snapshots(app: Offhook, user_ids: list[int]) -> dict[int, JournalSnapshot]:
    def read(session: Session) -> dict[int, JournalSnapshot]:
        entries = journal.today_of_many(session, user_ids)
        lines: dict[int, list[LineOverview]] = {user_id: [] for user_id in user_ids}
        rows = session.scalars(select(Line).where(Line.user_id.in_(user_ids)).order_by(Line.id))
        for line in rows:
            overview = LineOverview(
                **app.lines.status(line.id), title=line.title, driver=line.driver
            )
            lines[line.user_id].append(overview)
        today = field_date(datetime.now(UTC), SettingsCache.get(session).zone)
        return {
            user_id: JournalSnapshot(entries=entries[user_id], lines=lines[user_id], day=today)
            for user_id in user_ids
        }

    # Retried once if PostgreSQL drops the connection meanwhile: a journal must not answer 500
    # because a database connection was killed (the stream's snapshots read this way too).
    return app.store.read(read)


class SnapshotReader:
    """Snapshots read together: whoever asks while a read is under way is served by the next
    read, one for all of them (at most `BATCH` users). Two thousand journals opening at once
    (a server started, Redis back and every stream resynced) then cost a few dozen reads of a
    few queries each instead of two thousand, and one journal alone costs what it did."""

    BATCH = 200

    def __init__(self, app: Offhook) -> None:
        self._app = app
        self._waiting: dict[int, list[asyncio.Future[JournalSnapshot]]] = {}
        self._reading: asyncio.Task[None] | None = None

    async def get(self, user_id: int) -> JournalSnapshot:
        future: asyncio.Future[JournalSnapshot] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(user_id, []).append(future)
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read(), name="journal snapshots")
        return await future

    async def _read(self) -> None:
        while self._waiting:
            users = list(self._waiting)[: self.BATCH]
            batch = {user_id: self._waiting.pop(user_id) for user_id in users}
            try:
                read = await asyncio.to_thread(snapshots, self._app, users)
            except Exception as exc:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for user_id, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(read[user_id])


def in_language(snapshot: JournalSnapshot) -> JournalSnapshot:
    """The snapshot with its lines' reasons in the current request's language: snapshots are
    read for many users at once, each of whom reads them in their own."""
    lines = [
        line.model_copy(update={"reason_shown": reason_text(line.reason)})
        for line in snapshot.lines
    ]
    return snapshot.model_copy(update={"lines": lines})


def _reader(request: Request) -> SnapshotReader:
    state = request.app.state
    if not hasattr(state, "journal_snapshots"):
        state.journal_snapshots = SnapshotReader(offhook_of(request))
    reader: SnapshotReader = state.journal_snapshots
    return reader


@router.get("/journal", response_model=JournalSnapshot)
async def get_journal(request: Request, user: User_) -> JournalSnapshot:
    """The user's journal: today's calls, newest first, and the state of their lines."""
    return in_language(await _reader(request).get(user.id))


@router.get(
    "/journal/stream",
    response_class=EventStream,
    responses={200: STREAM_RESPONSE},
)
async def stream_journal(request: Request, user: User_) -> EventStream:
    """Server-sent events: a `snapshot` first, then every change as it happens (`call`, `line`),
    and a fresh `snapshot` whenever the browser fell behind."""
    app = offhook_of(request)
    streams = _streams_of(request, user.id)
    # A finished async generator has no frame any more.
    running = sum(1 for stream in streams if getattr(stream, "ag_frame", None) is not None)
    if running >= MAX_STREAMS_PER_USER:
        raise HTTPException(
            429,
            _(
                "You have {count} live journals open already (tabs or windows): close some "
                "and reload this page."
            ).format(count=MAX_STREAMS_PER_USER),
        )

    locale = language.current()  # the user's, for the reasons of their lines

    async def events() -> AsyncGenerator[str]:
        async with app.hub.subscribe(user.id) as queue:
            with language.using(locale):
                first = in_language(await _reader(request).get(user.id))
            yield f"event: snapshot\ndata: {json.dumps(first.model_dump(mode='json'))}\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                if message.get("type") == "bye":
                    return
                if message.get("type") == "line":
                    with language.using(locale):
                        shown = reason_text(message["line"]["reason"])
                    message = {**message, "line": {**message["line"], "reason_shown": shown}}
                if message.get("type") == "resync":
                    again = await _reader(request).get(user.id)
                    with language.using(locale):
                        again = in_language(again)
                    message = again.model_dump(mode="json")
                yield event_text(message)

    stream = events()
    streams.add(stream)
    return EventStream(
        stream,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _streams_of(request: Request, user_id: int) -> weakref.WeakSet[AsyncGenerator[str]]:
    """The user's live streams on this server. Held weakly and counted while running, so a
    stream that ended, or never started because its browser left at once, is not counted."""
    state = request.app.state
    if not hasattr(state, "journal_streams"):
        state.journal_streams = defaultdict(weakref.WeakSet)
    streams: weakref.WeakSet[AsyncGenerator[str]] = state.journal_streams[user_id]
    return streams


def _own_call(request: Request, user_id: int, call_id: int) -> Any:
    with offhook_of(request).store.session() as session:
        call = journal.user_call(session, user_id, call_id)
        if call is None:
            raise HTTPException(404, N_("There is no such call in your journal."))
        return call


async def _act_on(request: Request, user_id: int, call_id: int, answer: bool) -> dict[str, Any]:
    call = await asyncio.to_thread(_own_call, request, user_id, call_id)
    lines = offhook_of(request).lines
    try:
        await (lines.answer(call) if answer else lines.hangup(call))
    except LineError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"ok": True}


@router.post("/calls/{call_id}/answer")
async def answer(request: Request, call_id: int, user: User_) -> dict[str, Any]:
    return await _act_on(request, user.id, call_id, answer=True)


@router.post("/calls/{call_id}/hangup")
async def hangup(request: Request, call_id: int, user: User_) -> dict[str, Any]:
    """Hang up a call; a ringing one is rejected."""
    return await _act_on(request, user.id, call_id, answer=False)


@router.post("/calls/{call_id}/end")
async def mark_ended(request: Request, call_id: int, user: User_) -> dict[str, Any]:
    """Mark a call as ended when its phone system cannot say so any more."""
    try:
        await offhook_of(request).lines.end_unreachable(user.id, call_id)
    except LineError as exc:
        raise HTTPException(404, str(exc)) from exc
    return {"ok": True}


@router.post("/calls/{call_id}/done")
async def missed_done(request: Request, call_id: int, user: User_) -> dict[str, Any]:
    """Mark a missed call done: it needs no call back (nor do its ring-group legs)."""
    app = offhook_of(request)

    def work() -> tuple[tuple[int, int], ...]:
        with app.store.session() as session:
            call = journal.user_call(session, user.id, call_id)
            if call is None:
                raise HTTPException(404, N_("There is no such call in your journal."))
            return mark_done(session, call)

    for closed_id, owner in await asyncio.to_thread(work):
        await app.lines.publish_call(owner, closed_id)
    return {"ok": True}


@router.get("/calls/{call_id}/candidates")
async def candidates(request: Request, call_id: int, user: User_) -> list[dict[str, Any]]:
    """Every address the call's number belongs to, for the user to choose from."""

    def work() -> list[dict[str, Any]]:
        with offhook_of(request).store.session() as session:
            call = journal.user_call(session, user.id, call_id)
            if call is None:
                raise HTTPException(404, N_("There is no such call in your journal."))
            settings = SettingsCache.get(session)
            parsed = parse_incoming(call.remote_number, numbering_plan(settings))
            return [m.to_json() for m in lookup(session, parsed, settings.country)]

    return await asyncio.to_thread(work)


class Choice(BaseModel):
    address_id: int


@router.post("/calls/{call_id}/address")
async def choose_address(
    request: Request, call_id: int, choice: Choice, user: User_
) -> dict[str, Any]:
    """The user's choice among several addresses; it sticks for this call."""
    app = offhook_of(request)

    def work() -> None:
        with app.store.session() as session:
            call = journal.user_call(session, user.id, call_id)
            if call is None:
                raise HTTPException(404, N_("There is no such call in your journal."))
            address = session.get(Address, choice.address_id)
            if address is None:
                raise HTTPException(404, N_("There is no such address."))
            link_call(session, user.id, call_id, address, SettingsCache.get(session))

    await asyncio.to_thread(work)
    await app.lines.publish_call(user.id, call_id)
    return {"ok": True}


class DialBody(BaseModel):
    number: str = Field(min_length=1, max_length=200)
    line_id: int | None = None


@router.post("/dial")
async def dial(request: Request, body: DialBody, user: User_) -> dict[str, Any]:
    """Call a number on one of your lines; the journal shows it as dialling at once."""
    try:
        call_id = await offhook_of(request).lines.dial(user.id, body.number, body.line_id)
    except LineError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"call_id": call_id}


class PanelGeometry(BaseModel):
    x: float = Field(ge=-10000, le=100000)
    y: float = Field(ge=-10000, le=100000)
    width: float = Field(ge=120, le=10000)
    height: float = Field(ge=80, le=10000)
    viewport_width: float = Field(ge=1, le=100000)
    viewport_height: float = Field(ge=1, le=100000)
    collapsed: bool = False
    corner: Corner | None = None
    screen: ScreenClass = "desktop"


def _panel_key(screen: ScreenClass) -> str:
    # The desktop's geometry keeps the key it had before there were screen classes.
    return PANEL if screen == "desktop" else f"{PANEL}:{screen}"


@router.get("/preferences/journal-panel")
async def get_panel(
    request: Request, user: User_, screen: ScreenClass = "desktop"
) -> dict[str, Any]:
    """The journal panel's place for one screen-size class (phone, tablet, desktop)."""

    def work() -> dict[str, Any]:
        with offhook_of(request).store.session() as session:
            row = session.get(Preference, (user.id, _panel_key(screen)))
            return dict(row.value) if row else {}

    return await asyncio.to_thread(work)


@router.put("/preferences/journal-panel")
async def put_panel(request: Request, geometry: PanelGeometry, user: User_) -> dict[str, Any]:
    """Where the user left the journal panel, and how big, on this class of screen; it reopens
    in that corner."""
    key = _panel_key(geometry.screen)

    def work() -> None:
        with offhook_of(request).store.session() as session:
            row = session.get(Preference, (user.id, key))
            if row is None:
                session.add(Preference(user_id=user.id, key=key, value=geometry.model_dump()))
            else:
                row.value = geometry.model_dump()

    await asyncio.to_thread(work)
    return geometry.model_dump()
