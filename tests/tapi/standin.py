"""Scripts for the stand-in tapi32.dll (`wine/standin_tapi32.c`), written from Python."""

from __future__ import annotations

from pathlib import Path

from offhook_agent import constants as c
from wine_env import HERE, compile_windows

#: The stand-in opens line device i as hLine 0x10000 + i.
HLINE = 0x10000


def build_standin(directory: Path) -> Path:
    # Not named tapi32.dll: Wine would load its own built-in tapi32 instead, path or not.
    return compile_windows(
        HERE / "wine" / "standin_tapi32.c", directory / "standin_tapi32.dll", True
    )


class Script:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def device(self, permanent: int, name: str) -> Script:
        self.lines.append(f"device {permanent} {name}")
        return self

    def existing(self, hcall: int, state: int) -> Script:
        self.lines.append(f"existing {hcall} {state}")
        return self

    def info(
        self,
        hcall: int,
        call_id: int,
        origin: int,
        caller: str = "",
        caller_name: str = "",
        called: str = "",
        flags: int = 0,
        connected: str = "",
    ) -> Script:
        if not flags:
            flags = (c.LINECALLPARTYID_ADDRESS if caller else 0) | (
                c.LINECALLPARTYID_NAME if caller_name else 0
            )
        texts = [caller, caller_name, called, "", connected, ""]
        assert not any("|" in text or "\n" in text for text in texts)
        self.lines.append(f"info {hcall} {call_id} {origin} {flags} {'|'.join(texts)}")
        return self

    def msg(self, message: int, device: int, p1: int = 0, p2: int = 0, p3: int = 0) -> Script:
        self.lines.append(f"msg {message} {device} {p1} {p2} {p3}")
        return self

    def newcall(self, hcall: int) -> Script:
        return self.msg(c.LINE_APPNEWCALL, HLINE, 0, hcall, c.LINECALLPRIVILEGE_MONITOR)

    def state(self, hcall: int, state: int, mode: int = 0) -> Script:
        return self.msg(c.LINE_CALLSTATE, hcall, state, mode)

    def changed(self, hcall: int, bits: int = c.LINECALLINFOSTATE_CALLERID) -> Script:
        return self.msg(c.LINE_CALLINFO, hcall, bits)

    def wait(self, what: str, value: int) -> Script:
        self.lines.append(f"{what} {value}")
        return self

    def write(self, path: Path) -> Path:
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path
