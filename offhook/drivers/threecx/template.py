"""The CRM template that 3CX imports (Admin › Integrations › CRM › Upload template).

3CX's server-side CRM integration is described by one XML file (the format:
www.3cx.com/docs/server-side-crm-template-xml-description/). offhook writes one for each 3CX
phone system, with its URL and its token filled in, so the admin uploads it and is done:

- the **lookup** scenario (`Id=""`): 3CX asks offhook who a number is, and shows the name and
  company in its clients, with a link into offhook (`ContactUrl`);
- the **ReportCall** scenario: at the end of every call, 3CX posts what happened (call type,
  number, agent extension, duration, times) and offhook puts it in the agent's call history.

3CX sends the token as the password of HTTP basic authentication (`Authentication
Type="Basic"`); the user name is fixed (`3cx`). The values 3CX fills in (`[Number]`,
`[Agent]` …) are its own variables; a variable a 3CX version does not know arrives as its name
in brackets, which the journaling endpoint treats as missing.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, indent, tostring

#: The user name of the basic authentication 3CX sends; the token is the password.
CRM_USER = "3cx"
GENERAL = "General Configuration"

#: What the ReportCall scenario posts: our key → 3CX's variable (or expression).
REPORT_VALUES = (
    ("call_type", "[CallType]"),
    ("number", "[Number]"),
    ("name", "[Name]"),
    ("agent", "[Agent]"),
    ("agent_email", "[AgentEmail]"),
    ("duration", '[[[DurationTimespan].get_TotalSeconds()].ToString("F0")]'),
    ("date_time", "[DateTime]"),
    ("start_utc", "[CallStartTimeUTC]"),
    ("established_utc", "[CallEstablishedTimeUTC]"),
    ("end_utc", "[CallEndTimeUTC]"),
    ("queue", "[QueueExtension]"),
    ("contact_id", "[Contact::ContactID]"),
)

#: The lookup's answer (see `web.lookup`): 3CX's variable → the JSON path offhook fills.
LOOKUP_VARIABLES = (
    ("ContactID", "contact.id"),
    ("FirstName", "contact.first_name"),
    ("LastName", "contact.last_name"),
    ("CompanyName", "contact.company"),
    ("Email", "contact.email"),
    ("PhoneBusiness", "contact.phone"),
    ("PhoneMobile", "contact.mobile"),
    ("ContactUrl", "contact.url"),
)


def crm_template(
    *, base_url: str, system_id: int, token: str, country: str, digits_compared: int
) -> bytes:
    """The template for one 3CX phone system, as UTF-8 XML."""
    api = f"{base_url.rstrip('/')}/api/drivers/3cx/systems/{system_id}"
    crm = Element(
        "Crm",
        {
            "Country": (country or "CH").upper()[:2],
            "Name": "offhook",
            "Version": "1",
            "SupportsEmojis": "true",
            "ListPageSize": "0",
        },
    )
    SubElement(crm, "Number", {"Prefix": "AsIs", "MaxLength": "[MaxLength]"})
    SubElement(crm, "Connection", {"MaxConcurrentRequests": "4"})
    parameters = SubElement(crm, "Parameters")
    for name, kind, title, default, parent in (
        ("ApiToken", "String", "offhook token:", token, GENERAL),
        ("MaxLength", "Integer", "Digits to compare:", str(digits_compared), GENERAL),
        ("ReportCallEnabled", "Boolean", "Enable call journaling", "True", ""),
    ):
        attributes = {"Name": name, "Type": kind, "Editor": "String", "Title": title}
        if parent:
            attributes["Parent"] = parent
        attributes["Default"] = default
        SubElement(parameters, "Parameter", attributes)
    authentication = SubElement(crm, "Authentication", {"Type": "Basic"})
    SubElement(authentication, "Value").text = f"{CRM_USER}:[ApiToken]"
    scenarios = SubElement(crm, "Scenarios")
    _lookup(SubElement(scenarios, "Scenario", {"Id": "", "Type": "REST"}), api)
    _report(SubElement(scenarios, "Scenario", {"Id": "ReportCall", "Type": "REST"}), api)
    indent(crm, "  ")
    body: bytes = tostring(crm, encoding="unicode").encode("utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body + b"\n"


def _lookup(scenario: Element, api: str) -> None:
    SubElement(
        scenario,
        "Request",
        {
            "SkipIf": "",
            "Url": f"{api}/lookup?number=[Number]",
            "MessagePasses": "0",
            "RequestEncoding": "UrlEncoded",
            "RequestType": "Get",
            "ResponseType": "Json",
        },
    )
    SubElement(SubElement(scenario, "Rules"), "Rule", {"Type": "Any"}).text = "contact.id"
    variables = SubElement(scenario, "Variables")
    for name, path in LOOKUP_VARIABLES:
        SubElement(SubElement(variables, "Variable", {"Name": name, "Path": path}), "Filter")
    outputs = SubElement(scenario, "Outputs", {"AllowEmpty": "false"})
    for name, _ in LOOKUP_VARIABLES:
        SubElement(outputs, "Output", {"Type": name, "Passes": "0", "Value": f"[{name}]"})


def _report(scenario: Element, api: str) -> None:
    request = SubElement(
        scenario,
        "Request",
        {
            "SkipIf": "[ReportCallEnabled]!=True",
            "Url": f"{api}/journal",
            "MessagePasses": "0",
            "RequestContentType": "application/json",
            "RequestEncoding": "Json",
            "RequestType": "Post",
            "ResponseType": "Json",
        },
    )
    values = SubElement(request, "PostValues", {"Key": ""})
    for key, variable in REPORT_VALUES:
        SubElement(values, "Value", {"Key": key, "Passes": "1", "Type": "String"}).text = variable
    SubElement(scenario, "Variables")
    SubElement(scenario, "Outputs", {"AllowEmpty": "true"})
