"""`offhook-agent`: set up, list the TAPI lines, run (and record)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
from pathlib import Path
from typing import Any

from offhook_agent import __version__
from offhook_agent.recording import Recorder
from offhook_agent.tapi import Tapi, TapiError
from offhook_agent.tapi_lines import TapiLines
from offhook_agent.uplink import AgentStopped, Uplink

log = logging.getLogger("offhook_agent")


def config_path() -> Path:
    base = os.environ.get("APPDATA") or str(Path.home() / ".config")
    return Path(base) / "offhook-agent" / "config.json"


def load_config(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except FileNotFoundError:
        return {}


def os_name() -> str:
    """The system, for the server's log. Not `platform.release()`: on Windows it asks WMI,
    which can hang or crash (it does under Wine)."""
    if sys.platform == "win32":
        version = sys.getwindowsversion()
        return f"Windows {version.major}.{version.minor}.{version.build}"
    return f"{platform.system()} {platform.release()}"


def cmd_lines(args: argparse.Namespace) -> int:
    try:
        tapi = Tapi(args.dll)
    except (TapiError, OSError) as exc:
        print(f"TAPI is not available: {exc}", file=sys.stderr)
        return 1
    try:
        devices = tapi.devices()
    finally:
        tapi.shutdown()
    if not devices:
        print("TAPI lists no lines: is the phone vendor's TAPI driver installed and set up?")
    for device in devices:
        print(device.name)
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    path = Path(args.config)
    config = load_config(path)
    config.update(server=args.server, token=args.token, lines=args.line or config.get("lines", []))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    print(f"Saved to {path}. Start the agent with: offhook-agent run")
    return 0


async def _run(server: str, token: str, lines: list[str], dll: str, record: str | None) -> int:
    recorder = None
    if record:
        print(f"Recording the TAPI messages (with phone numbers and names) to {record}")
        recorder = Recorder(open(record, "a", encoding="utf-8"))  # noqa: SIM115 - lives with the run
    phone = TapiLines(lines, dll, recorder)
    uplink = Uplink(server, token, phone, os_name())
    phone.report_call = uplink.report_call
    phone.report_line = uplink.report_line
    phone.resync = uplink.resync
    loop = asyncio.get_running_loop()
    phone.start(loop)
    # The hello lists the lines TAPI has: wait a moment for TAPI (it may be restarting).
    await loop.run_in_executor(None, phone.ready.wait, 15)
    try:
        await uplink.run()
    except AgentStopped as exc:
        print(f"offhook-agent stopped: {exc}", file=sys.stderr)
        return 2
    finally:
        await loop.run_in_executor(None, phone.stop)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    server = args.server or config.get("server")
    token = os.environ.get("OFFHOOK_AGENT_TOKEN") or config.get("token")
    lines = args.line or config.get("lines", [])
    if not server or not token:
        print("Not set up: run `offhook-agent setup --server URL --token TOKEN`", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_run(server, token, lines, args.dll, args.record))
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="offhook-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=f"offhook-agent {__version__}")
    parser.add_argument("--config", default=str(config_path()), help="the settings file")
    parser.add_argument("--dll", default="tapi32", help="the TAPI DLL (default: Windows' own)")
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lines", help="list the TAPI lines of this PC").set_defaults(func=cmd_lines)
    setup = commands.add_parser("setup", help="save the server, the agent token and your lines")
    setup.add_argument("--server", required=True, help="offhook's address, https://…")
    setup.add_argument("--token", required=True, help="the agent token offhook showed")
    setup.add_argument("--line", action="append", help="a TAPI line to serve (repeatable)")
    setup.set_defaults(func=cmd_setup)
    run = commands.add_parser("run", help="connect to offhook and serve the lines")
    run.add_argument("--server", help="overrides the saved server")
    run.add_argument("--line", action="append", help="overrides the saved lines")
    run.add_argument("--record", metavar="FILE", help="also write the raw TAPI messages to FILE")
    run.set_defaults(func=cmd_run)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
