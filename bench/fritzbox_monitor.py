"""FRITZ!Box call monitor: bytes from the box → call events, per line, beside a bare split.

    .venv/bin/python bench/fritzbox_monitor.py [--calls 50000]

Synthetic calls (RING, CONNECT, DISCONNECT on eight connection ids, and outgoing CALLs) are
written as the box writes them and fed in 4 KB chunks (what one `read` returns) through the
driver's own path: `LineFramer` → `parse` → `CallTracker` (routing to lines, call events). The
baseline in the same run is the least any reader does: split the same bytes into lines and the
lines into fields. Prints lines per second and µs per line for both, and their ratio.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from offhook.calls.events import CallEvent
from offhook.drivers.contract import LineInfo
from offhook.drivers.fritzbox.calls import CallTracker
from offhook.drivers.fritzbox.monitor import LineFramer, parse
from offhook.drivers.fritzbox.phones import Routes


def _lines(calls: int) -> bytes:
    out = []
    for i in range(calls):
        conn = i % 8
        stamp = "28.11.26 09:00:00"
        if i % 4 == 3:
            out.append(f"{stamp};CALL;{conn};1{conn};0301234567;04412345{i % 100:02d};SIP0;")
        else:
            out.append(f"{stamp};RING;{conn};04412345{i % 100:02d};0301234567;SIP0;")
        out.append(f"{stamp};CONNECT;{conn};1{conn};04412345{i % 100:02d};")
        out.append(f"{stamp};DISCONNECT;{conn};{i % 300};")
    return ("\n".join(out) + "\n").encode()


def _chunks(data: bytes, size: int = 4096) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def driver_path(chunks: list[bytes]) -> tuple[int, int]:
    lines = {
        n: LineInfo(id=n, address=f"**61{n - 1}", user_id=n, options={"numbers": []})
        for n in range(1, 9)
    }
    emitted: list[CallEvent] = []
    tracker = CallTracker(Routes(lines), emitted.append, lambda: datetime.now(UTC))
    framer = LineFramer()
    count = 0
    for chunk in chunks:
        for text in framer.feed(chunk):
            event = parse(text)
            count += 1
            if event is not None:
                tracker.on(event)
    return count, len(emitted)


def baseline(chunks: list[bytes]) -> int:
    rest = b""
    count = 0
    for chunk in chunks:
        *complete, rest = (rest + chunk).split(b"\n")
        for raw in complete:
            raw.decode().split(";")
            count += 1
    return count


def _timed(fn: object, chunks: list[bytes]) -> tuple[float, object]:
    best = float("inf")
    result: object = None
    for _ in range(3):
        began = time.perf_counter()
        result = fn(chunks)  # type: ignore[operator]
        best = min(best, time.perf_counter() - began)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args()
    chunks = _chunks(_lines(args.calls))
    base_s, base_count = _timed(baseline, chunks)
    path_s, (count, events) = _timed(driver_path, chunks)  # type: ignore[misc]
    assert count == base_count
    print(f"{count} call-monitor lines in 4 KB chunks ({events} call events), best of 3")
    print(f"{'':34}{'lines/s':>12}{'µs/line':>10}")
    for label, seconds in (
        ("baseline: split lines and fields", base_s),
        ("driver: frame, parse, call events", path_s),
    ):
        print(f"{label:34}{count / seconds:>12,.0f}{seconds / count * 1e6:>10.2f}")
    print(f"driver / baseline: {path_s / base_s:.1f}x the time")


if __name__ == "__main__":
    main()
