"""3CX's side of the CRM integration, as far as offhook's template needs it: read the template,
fill in 3CX's variables, send the requests it describes, read the answers with its rules and
variables. Written from 3CX's published template format
(www.3cx.com/docs/server-side-crm-template-xml-description/); no 3CX is reachable here.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from xml.etree import ElementTree

from fastapi.testclient import TestClient

DURATION_EXPRESSION = '[[[DurationTimespan].get_TotalSeconds()].ToString("F0")]'


class Template:
    def __init__(self, xml: bytes) -> None:
        self.root = ElementTree.fromstring(xml)  # noqa: S314 (our own template)
        self.parameters = {
            p.get("Name", ""): p.get("Default", "") for p in self.root.iter("Parameter")
        }

    def scenario(self, scenario_id: str) -> ElementTree.Element:
        for scenario in self.root.iter("Scenario"):
            if scenario.get("Id") == scenario_id:
                return scenario
        raise AssertionError(f"no scenario {scenario_id!r}")

    def fill(self, text: str, values: dict[str, str]) -> str:
        if text == DURATION_EXPRESSION:
            return values.get("DurationSeconds", "0")
        # A time written out with .NET's ToString("yyyy-MM-ddTHH:mm:ssZ"): the tests give the
        # times in that form already (and an unknown variable stays as written, as in 3CX).
        iso = re.fullmatch(r'\[\[(\w+)\]\.ToString\("yyyy-MM-ddTHH:mm:ssZ"\)\]', text)
        if iso is not None:
            value = values.get(iso.group(1), "")
            return value if value and not value.startswith("[") else text
        every = {**self.parameters, **values}
        return re.sub(r"\[([A-Za-z:]+)\]", lambda m: every.get(m.group(1), m.group(0)), text)

    def headers(self) -> dict[str, str]:
        auth = self.root.find("Authentication")
        assert auth is not None and auth.get("Type") == "Basic"
        value = auth.find("Value")
        assert value is not None and value.text
        credentials = self.fill(value.text, {})
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    def lookup(self, client: TestClient, number: str) -> dict[str, str] | None:
        """What 3CX would show for a number: its outputs, or None when the rules fail."""
        scenario = self.scenario("")
        request = scenario.find("Request")
        assert request is not None and request.get("RequestType") == "Get"
        url = self.fill(request.get("Url", ""), {"Number": number})
        response = client.get(url, headers=self.headers())
        assert response.status_code == 200, response.text
        data = response.json()
        for rule in scenario.iter("Rule"):
            if _path(data, rule.text or "") in (None, ""):
                return None
        variables = {
            v.get("Name", ""): str(_path(data, v.get("Path", "")) or "")
            for v in scenario.iter("Variable")
        }
        outputs = scenario.find("Outputs")
        assert outputs is not None
        return {o.get("Type", ""): self.fill(o.get("Value", ""), variables) for o in outputs}

    def report(self, client: TestClient, values: dict[str, str]) -> Any:
        """3CX's ReportCall at the end of a call, with its variables' values."""
        scenario = self.scenario("ReportCall")
        request = scenario.find("Request")
        assert request is not None and request.get("RequestEncoding") == "Json"
        skip = self.fill(request.get("SkipIf", ""), values)
        assert skip == "True!=True", skip  # journaling is on in the template
        url = self.fill(request.get("Url", ""), values)
        body = {
            v.get("Key", ""): self.fill(v.text or "", values)
            for v in request.iter("Value")
            if v.get("Key")
        }
        return client.post(url, json=body, headers=self.headers())


def _path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
