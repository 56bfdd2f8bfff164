"""The agent is a package of its own (`agent/`, installed with pip on Windows); its pure parts
are tested here on Linux straight from the source tree."""

import sys
from pathlib import Path

AGENT_SOURCE = Path(__file__).resolve().parents[2] / "agent"
if str(AGENT_SOURCE) not in sys.path:
    sys.path.insert(0, str(AGENT_SOURCE))
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
