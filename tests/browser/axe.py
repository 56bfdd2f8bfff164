"""axe-core, the accessibility engine, from the npm registry.

It is installed with npm at test time into a cache outside the clone (the same version every
time, so it is fetched once per machine) rather than kept in the repository as a minified copy.
OFFHOOK_AXE may name an axe.min.js to use instead."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "offhook"


def axe_script() -> Path:
    """The path of axe.min.js, installing axe-core with npm when it is not there yet."""
    if os.environ.get("OFFHOOK_AXE"):
        return Path(os.environ["OFFHOOK_AXE"])
    prefix = CACHE / f"axe-core-{AXE_VERSION}"
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install axe-core (./dev test installs it)")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--silent",
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            timeout=300,
        )
    return script


def serious_violations(page: Any) -> list[str]:
    """The serious and critical violations axe finds on the page as it is now."""
    results = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id} (${v.impact}): ${v.help} at `
                + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "))"""
    )
    return list(results)
