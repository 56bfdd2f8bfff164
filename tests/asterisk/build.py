"""Build a real Asterisk from the Debian source package kept in ../shared/vendor/asterisk/.

The tests of the `asterisk` driver run this Asterisk on 127.0.0.1. Debian bookworm has no package,
so we build the sid source package (22.10.1, with its bundled pjproject) the way Debian's
debian/rules does, plus the two fixes the DFSG-cleaned tarballs need (../shared/notes/drivers.md,
section 2.1):

- pjproject's Makefile still names the removed bdimad audio driver (Debian patch
  2014_pjproject_unbreak.patch);
- codecs/ilbc was removed from the tarball, so the codec is disabled in menuselect.

The result is installed into a cache outside the clone, named after a hash of every input (the
checked tarballs and this recipe), so a rerun finds it and skips the build. A lock file keeps two
runs (two pytest sessions, `./dev test` and a session fixture) from building at once.

Run it by hand with `python -m tests.asterisk.build`; it prints the installed prefix.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT.parent / "shared" / "vendor" / "asterisk"
VERSION = "22.10.1"
PJPROJECT_VERSION = "2.17"

# The Debian packages the build needs are installed by ./dev (ASTERISK_DEBS).

# Modules we do not need and whose sources or libraries are absent; the sound packages would be
# downloaded at install time, which a build here must never do.
MENUSELECT_DISABLE = ("codec_ilbc",)
MENUSELECT_DISABLE_CATEGORIES = (
    "MENUSELECT_CORE_SOUNDS",
    "MENUSELECT_MOH",
    "MENUSELECT_EXTRA_SOUNDS",
)

# Bump when the recipe below changes in a way that changes the installed tree.
RECIPE = "1"


class SourceMissing(Exception):
    """The vendored source package is not there: the real-Asterisk tests skip with this reason."""


class BuildFailed(Exception):
    """The source is there but the build did not work: the tests fail with this (never skip)."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "offhook"


def dsc_path(vendor: Path = VENDOR) -> Path:
    found = sorted(vendor.glob("asterisk_*.dsc")) if vendor.is_dir() else []
    if not found:
        raise SourceMissing(
            f"the Asterisk source package is not in {vendor} (expected ../shared/vendor/asterisk/ "
            "beside the checkout)"
        )
    return found[0]


def checked_files(dsc: Path) -> dict[str, str]:
    """The files the .dsc lists under Checksums-Sha256, verified; name -> sha256."""
    text = dsc.read_text(encoding="utf-8")
    block = re.search(r"^Checksums-Sha256:\n((?: .+\n)+)", text, re.MULTILINE)
    if block is None:
        raise BuildFailed(f"{dsc.name} has no Checksums-Sha256 field")
    files: dict[str, str] = {}
    for line in block.group(1).splitlines():
        digest, size, name = line.split()
        path = dsc.parent / name
        if not path.is_file():
            raise SourceMissing(f"{name}, listed in {dsc.name}, is missing from {dsc.parent}")
        if path.stat().st_size != int(size):
            raise BuildFailed(f"{name} has the wrong size (the .dsc says {size} bytes)")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise BuildFailed(f"{name}: sha256 {actual} does not match the .dsc ({digest})")
        files[name] = digest
    return files


def inputs_hash(files: dict[str, str]) -> str:
    h = hashlib.sha256(RECIPE.encode())
    for name in sorted(files):
        h.update(f"{name} {files[name]}\n".encode())
    return h.hexdigest()[:12]


def prefix_for(files: dict[str, str]) -> Path:
    return cache_root() / f"asterisk-{VERSION}-{inputs_hash(files)}"


def binary(prefix: Path) -> Path:
    return prefix / "sbin" / "asterisk"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_built(vendor: Path = VENDOR, log: Path | None = None) -> Path:
    """The prefix of a built Asterisk, building it first when the cache has none."""
    dsc = dsc_path(vendor)
    files = checked_files(dsc)
    prefix = prefix_for(files)
    done = prefix / ".offhook-built"
    if done.is_file():
        return prefix
    with _locked(prefix.with_name(prefix.name + ".lock")):
        if done.is_file():  # another run built it while we waited
            return prefix
        work = prefix.with_name(prefix.name + ".build")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(prefix, ignore_errors=True)
        work.mkdir(parents=True)
        logfile = log or work / "build.log"
        try:
            _build(vendor, files, work, prefix, logfile)
        except subprocess.CalledProcessError as exc:
            tail = logfile.read_text(errors="replace").splitlines()[-30:]
            raise BuildFailed(
                f"building Asterisk failed ({' '.join(map(str, exc.cmd))}); log: {logfile}\n"
                + "\n".join(tail)
            ) from exc
        done.write_text(inputs_hash(files) + "\n")
        shutil.rmtree(work, ignore_errors=True)
    return prefix


def _extract(archive: Path, into: Path) -> Path:
    """Unpack a tarball whose members share one top folder; that folder."""
    with tarfile.open(archive) as tar:
        tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        if len(tops) != 1:
            raise BuildFailed(f"{archive.name} does not have one top folder")
        tar.extractall(into, filter="data")
    return into / tops.pop()


def _build(vendor: Path, files: dict[str, str], work: Path, prefix: Path, logfile: Path) -> None:
    def named(suffix: str) -> Path:
        return vendor / next(n for n in files if n.endswith(suffix))

    src = _extract(named(".orig.tar.xz"), work)
    pj = _extract(named(".orig-Xpjproject.tar.xz"), work)
    # Debian patch 2014_pjproject_unbreak: the DFSG tarball lacks the non-free bdimad driver.
    makefile = pj / "pjmedia" / "build" / "Makefile"
    text = makefile.read_text()
    if "bdimad_dev.o" not in text:
        raise BuildFailed("pjproject's Makefile changed: the bdimad fix no longer applies")
    makefile.write_text(text.replace(" bdimad_dev.o", ""))
    # The bundled pjproject goes in as the tarball Asterisk's build expects, with its md5.
    cache = work / "download-cache"
    cache.mkdir()
    pjname = f"pjproject-{PJPROJECT_VERSION}"
    tarball = cache / f"{pjname}.tar.bz2"
    with tarfile.open(tarball, "w:bz2", compresslevel=1) as tar:
        tar.add(pj, arcname=pjname)
    md5 = hashlib.md5(tarball.read_bytes(), usedforsecurity=False).hexdigest()
    (src / "third-party" / "pjproject" / f"{pjname}.tar.bz2.md5").write_text(
        f"{md5}  {pjname}.tar.bz2\n"
    )

    jobs = str(min(2, os.cpu_count() or 1))
    with logfile.open("w") as out:

        def run(*cmd: str) -> None:
            out.write(f"\n$ {' '.join(cmd)}\n")
            out.flush()
            subprocess.run(cmd, cwd=src, stdout=out, stderr=subprocess.STDOUT, check=True)

        run(
            "./configure",
            f"--prefix={prefix}",
            "--with-pjproject-bundled",
            f"--with-download-cache={cache}",
            "--without-sdl",
            "--without-x11",
            "--without-gtk2",
        )
        run("make", "menuselect.makeopts")
        for module in MENUSELECT_DISABLE:
            run("menuselect/menuselect", "--disable", module, "menuselect.makeopts")
        for category in MENUSELECT_DISABLE_CATEGORIES:
            run("menuselect/menuselect", "--disable-category", category, "menuselect.makeopts")
        run("make", f"-j{jobs}", "NOISY_BUILD=")
        run("make", "install", "NOISY_BUILD=")


def main() -> int:
    try:
        prefix = ensure_built()
    except SourceMissing as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    except BuildFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
