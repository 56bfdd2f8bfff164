"""Feed a TAPI message sequence to the real agent under Wine and watch offhook's journal.

    .venv/bin/python tests/tapi/standin_run.py SEQUENCE [--seconds 40]

SEQUENCE is a stand-in script (the directives are described at the top of
`wine/standin_tapi32.c`; the line is `Swyx Line 201 (Anna Keller)`, opened as hLine 65536) or a
recording the agent wrote (`offhook-agent run --record FILE`, JSON lines), which is turned into
a script. It starts a real offhook on 127.0.0.1 with a TAPI line and an agent token (a fresh
SQLite store), runs the agent in Windows CPython under Wine against the stand-in tapi32.dll,
and prints every journal entry each time it changes, then what the stand-in was asked to do.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE), str(HERE.parents[1] / "agent")]

from offhook_agent import constants as c  # noqa: E402
from offhook_agent.recording import read_recording  # noqa: E402
from site_setup import LINE_201, tapi_site  # noqa: E402
from standin import HLINE, Script, build_standin  # noqa: E402
from wine_env import WINE, windows_path, windows_python, wine_env  # noqa: E402

from offhook.store import Store  # noqa: E402


def script_from_recording(path: Path) -> Script:
    """A recording as a stand-in script: its first line becomes the stand-in's line."""
    script = Script().device(7001, LINE_201)
    for step in read_recording(path):
        m = step.message
        if m.message not in (c.LINE_APPNEWCALL, c.LINE_CALLSTATE, c.LINE_CALLINFO):
            if m.message in (c.LINE_CLOSE, c.LINE_LINEDEVSTATE):
                script.msg(m.message, HLINE, m.param1, m.param2, m.param3)
            continue
        hcall = m.param2 if m.message == c.LINE_APPNEWCALL else m.device
        if step.info is not None:
            i = step.info
            script.info(
                hcall, i.call_id, i.origin, i.caller.number, i.caller.name, i.called.number,
                i.caller.flags or 0, i.connected.number,
            )  # fmt: skip
        device = HLINE if m.message == c.LINE_APPNEWCALL else m.device
        script.msg(m.message, device, m.param1, m.param2, m.param3)
        script.wait("sleep", 50)
    return script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sequence", type=Path)
    parser.add_argument("--seconds", type=float, default=40)
    args = parser.parse_args()
    if WINE is None:
        print("needs wine64 and mingw-w64 (apt install wine64 gcc-mingw-w64-x86-64)")
        return 1
    python = windows_python()
    with tempfile.TemporaryDirectory(prefix="offhook-standin-") as tmp:
        work = Path(tmp)
        if args.sequence.suffix == ".jsonl":
            script = script_from_recording(args.sequence)
        else:
            script = Script()
            script.lines = args.sequence.read_text(encoding="utf-8").splitlines()
        script_path = script.write(work / "script.txt")
        dll = build_standin(work)
        store = Store(f"sqlite:///{work / 'offhook.sqlite'}")
        store.migrate()
        with tapi_site(store, work / "offhook") as site:
            log = work / "tapi.log"
            env = wine_env(
                OFFHOOK_AGENT_TOKEN=site.agent_token,
                OFFHOOK_TAPI_SCRIPT=windows_path(script_path),
                OFFHOOK_TAPI_LOG=windows_path(log),
            )
            agent = subprocess.Popen(
                [WINE, str(python), "-m", "offhook_agent", "--dll", windows_path(dll), "run",
                 "--server", site.base, "--line", LINE_201],
                env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            seen: dict[int, tuple[object, ...]] = {}
            deadline = time.monotonic() + args.seconds
            try:
                while time.monotonic() < deadline:
                    for entry in site.client.entries().values():
                        shown = (
                            entry["direction"], entry["state"], entry["number"]["raw"],
                            entry.get("remote_name"), entry.get("end_reason"),
                        )  # fmt: skip
                        if seen.get(entry["id"]) != shown:
                            seen[entry["id"]] = shown
                            print(f"entry {entry['id']}: " + " | ".join(map(str, shown)))
                    time.sleep(0.2)
            finally:
                agent.kill()
                agent.wait(10)
            print("\nthe stand-in was asked:")
            print(log.read_text(encoding="utf-8") if log.exists() else "(nothing)")
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
