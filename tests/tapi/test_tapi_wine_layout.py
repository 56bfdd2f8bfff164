"""The ctypes binding against the SDK header: every structure's size and every field's offset,
and every constant, as a C program compiled with mingw-w64 from `tapi.h` prints them under
Wine."""

from __future__ import annotations

import ctypes
from pathlib import Path

from offhook_agent import constants
from offhook_agent.structs import STRUCTURES
from wine_env import compile_windows, ensure_prefix, require_wine, run_windows, windows_python

#: Fields the binding flattens, by where they are in the header.
C_PATHS = {
    ("LINEINITIALIZEEXPARAMS", "hEvent"): "Handles.hEvent",
    ("LINECALLINFO", "dwDialPause"): "DialParams.dwDialPause",
    ("LINECALLINFO", "dwDialSpeed"): "DialParams.dwDialSpeed",
    ("LINECALLINFO", "dwDigitDuration"): "DialParams.dwDigitDuration",
    ("LINECALLINFO", "dwWaitForDialtone"): "DialParams.dwWaitForDialtone",
}
#: The binding's own names, not the header's.
NOT_IN_HEADER = {"TAPI_VERSION_2_0", "TAPI_VERSION_3_1"}


def probe_source() -> str:
    lines = [
        "#include <windows.h>",
        "#include <tapi.h>",
        "#include <stddef.h>",
        "#include <stdio.h>",
    ]
    lines.append("int main(void) {")
    for name, struct in STRUCTURES.items():
        lines.append(f'  printf("size {name} %u\\n", (unsigned)sizeof({name}));')
        for field, *_ in struct._fields_:
            path = C_PATHS.get((name, field), field)
            lines.append(
                f'  printf("offset {name}.{field} %u\\n", (unsigned)offsetof({name}, {path}));'
            )
    for name, value in vars(constants).items():
        if name.isupper() and isinstance(value, int) and name not in NOT_IN_HEADER:
            lines += [
                f"#ifdef {name}",
                f'  printf("const {name} %lu\\n", (unsigned long)({name}));',
                "#else",
                f'  printf("missing {name}\\n");',
                "#endif",
            ]
    lines += ["  return 0;", "}"]
    return "\n".join(lines) + "\n"


def test_structures_and_constants_match_the_header(tmp_path: Path) -> None:
    require_wine()
    ensure_prefix()
    source = tmp_path / "layout.c"
    source.write_text(probe_source())
    probe = compile_windows(source, tmp_path / "layout.exe")
    printed = run_windows([str(probe)]).split("\n")
    header: dict[str, int] = {}
    for line in printed:
        kind, _, rest = line.strip().partition(" ")
        if kind in ("size", "offset", "const"):
            key, value = rest.rsplit(" ", 1)
            header[f"{kind} {key}"] = int(value)
    missing = [line for line in printed if line.startswith("missing")]
    assert missing == []

    binding: dict[str, int] = {}
    for name, struct in STRUCTURES.items():
        binding[f"size {name}"] = ctypes.sizeof(struct)
        for field, *_ in struct._fields_:
            binding[f"offset {name}.{field}"] = getattr(struct, field).offset
    for name, value in vars(constants).items():
        if name.isupper() and isinstance(value, int) and name not in NOT_IN_HEADER:
            binding[f"const {name}"] = value
    assert header == binding
    # The sizes the research measured, as a check of the check.
    assert header["size LINEINITIALIZEEXPARAMS"] == 28
    assert header["size LINEMESSAGE"] == 40
    assert header["size LINECALLINFO"] == 344
    assert header["offset LINECALLINFO.dwCallerIDOffset"] == 116


def test_wines_own_tapi32_is_refused_as_a_stub() -> None:
    """Wine's tapi32 answers lineInitializeExW with success and fills in nothing: the agent
    must say TAPI is missing rather than spin on empty messages."""
    require_wine()
    result = run_windows(
        [str(windows_python()), "-m", "offhook_agent", "--dll", "tapi32", "lines"],
        expect_failure=True,
    )
    assert "TAPI is not available: lineInitializeExW: LINEERR_NODRIVER" in result
