"""The cloud-push corpus, read in place from ../shared/conformance/cloud-push (never copied
into the repository); tests that need it skip where it is not beside the checkout."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

CLOUD_PUSH = Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "cloud-push"
ZAMMAD_SEQUENCES = "zammad_spec_sipgate_placetel_param_sequences.txt"


def corpus_file(name: str) -> Path:
    path = CLOUD_PUSH / name
    if not path.is_file():
        pytest.skip(f"../shared/conformance/cloud-push/{name} is not beside the checkout")
    return path


@dataclass(frozen=True)
class Step:
    body: str  # form-encoded, exactly as in the corpus
    expect: str  # the state Zammad asserts after it ("" where it asserts none)


def zammad_steps(section: str) -> list[Step]:
    """The POST bodies of one section ("sipgate" or "Placetel") of Zammad's request specs."""
    steps: list[Step] = []
    inside = False
    for line in corpus_file(ZAMMAD_SEQUENCES).read_text().splitlines():
        if line.startswith("## ") and line[3:].lower().startswith(("sipgate", "placetel")):
            inside = line[3:].lower().startswith(section.lower())
            continue
        if inside and line.startswith("event="):
            body, _, expect = line.partition("=>")
            steps.append(Step(body.strip(), expect.strip()))
    return steps


def call_id_of(body: str) -> str:
    match = re.search(r"(?:callId|call_id)=([^&]+)", body)
    assert match, body
    return match.group(1)


def sipgate_readme_bodies() -> list[str]:
    """The form bodies of the curl examples in sipgate.io's README (newCall, answer, hangup,
    dtmf of one call)."""
    text = corpus_file("sipgate_io_README_push_api_bd2d1e4.md").read_text()
    return re.findall(r'curl -X POST --data "([^"]+)"', text)


def zammad_json_examples() -> list[dict[str, object]]:
    """The JSON payloads of the generic CTI documentation, in the order newCall, answer,
    hangup (each file: outbound, then inbound)."""
    payloads: list[dict[str, object]] = []
    for name in ("newcall", "answer", "hangup"):
        text = corpus_file(f"zammad_generic_cti_{name}-event.rst").read_text()
        for block in re.findall(r"--data-raw '(\{.*?\})'", text, re.S):
            payloads.append(json.loads(block))
    return payloads


def zammad_form_examples() -> list[list[tuple[str, str]]]:
    """The form-data payloads of the generic CTI documentation (its curl --form examples)."""
    payloads: list[list[tuple[str, str]]] = []
    for name in ("newcall", "answer", "hangup"):
        text = corpus_file(f"zammad_generic_cti_{name}-event.rst").read_text()
        for command in re.findall(r"\$ curl (.*?)(?:\n\s*\n|\Z)", text, re.S):
            fields = re.findall(r"--form '([^=]+)=\"([^\"]*)\"'", command)
            if fields:
                payloads.append(fields)
    return payloads
