"""The job in the background of a server: after a change of the telephony settings, and on
start when numbers were left stale (a run interrupted by a restart, a change made while this
server was down)."""

from __future__ import annotations

import asyncio
import logging
import threading

from offhook.directory.normalization.job import (
    NormalizationBusy,
    Progress,
    normalize_numbers,
    stale_numbers_exist,
)
from offhook.store import Store

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # while another server or the command line holds the job


class NormalizationRunner:
    """At most one background run per server; a change during a run runs it once more."""

    def __init__(self, store: Store, workers: int | None = None) -> None:
        self.store = store
        self.workers = workers
        self.progress: Progress | None = None  # this server's newest run, updated per batch
        self._task: asyncio.Task[None] | None = None
        self._stop = threading.Event()
        self._again = False
        self._everything = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Catch up in the background if any number needs normalizing; returns at once."""
        self._stop.clear()
        self._again = False
        self._task = asyncio.get_running_loop().create_task(self._catch_up(check_first=True))

    def request(self, everything: bool = False) -> bool:
        """Normalize now (every number with `everything`, else those that need it); during a
        run, once more when it ends. False when a run was already going."""
        if self._stop.is_set():
            return False
        self._everything = self._everything or everything
        if self.running:
            self._again = True
            return False
        self._task = asyncio.get_running_loop().create_task(self._catch_up(check_first=False))
        return True

    async def stop(self) -> None:
        """Let the current batch finish (it is kept) and end the run."""
        self._stop.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:  # already logged; stopping must not fail because of it
                log.debug("normalization task ended with an error", exc_info=True)
            self._task = None

    async def _catch_up(self, check_first: bool) -> None:
        needed = not check_first
        while not self._stop.is_set():
            if not needed:
                try:
                    needed = await asyncio.to_thread(stale_numbers_exist, self.store)
                except Exception:
                    log.exception("could not check whether phone numbers need normalizing")
                    return
                if not needed and not self._again:
                    return
            self._again = False
            everything, self._everything = self._everything, False
            try:
                self.progress = await asyncio.to_thread(
                    normalize_numbers,
                    self.store,
                    everything=everything,
                    workers=self.workers,
                    stop=self._stop,
                    on_progress=self._seen,
                    started_by="server",
                )
            except NormalizationBusy:
                # Someone else runs it, maybe with settings older than ours: check again later.
                self._everything = self._everything or everything
                await self._pause(RETRY_SECONDS)
                needed = False
                continue
            except Exception:
                log.exception("normalizing the phone numbers failed")
                return
            log.info(
                "normalized %d phone numbers (%d changed, %s could not be normalized)",
                self.progress.done,
                self.progress.changed,
                self.progress.problems,
            )
            if not self._again:
                return
            needed = True

    def _seen(self, progress: Progress) -> None:
        self.progress = progress

    async def _pause(self, seconds: float) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._stop.is_set() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
