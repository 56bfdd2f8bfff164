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
`[Agent]` …) are its own variables; its times are written out as ISO 8601 with .NET's
`ToString`, as published templates do. A variable a 3CX version does not know arrives as its
name in brackets (or as the expression), which the journaling endpoint treats as missing.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, indent, tostring

#: The user name of the basic authentication 3CX sends; the token is the password.
CRM_USER = "3cx"
GENERAL = "General Configuration"

#: 3CX's times are .NET DateTimes: written out like this they arrive as ISO 8601 in UTC.
_ISO = 'ToString("yyyy-MM-ddTHH:mm:ssZ")'

#: What the ReportCall scenario posts: our key → 3CX's variable or expression, and how many
#: passes 3CX evaluates it in (a nested expression needs more; published templates use these).
REPORT_VALUES = (
    ("call_type", "[CallType]", 1),
    ("number", "[Number]", 1),
    ("name", "[Name]", 1),
    ("agent", "[Agent]", 1),
    ("agent_email", "[AgentEmail]", 1),
    ("duration", '[[[DurationTimespan].get_TotalSeconds()].ToString("F0")]', 4),
    ("date_time", "[DateTime]", 1),
    ("start_utc", f"[[CallStartTimeUTC].{_ISO}]", 2),
    ("established_utc", f"[[CallEstablishedTimeUTC].{_ISO}]", 2),
    ("end_utc", f"[[CallEndTimeUTC].{_ISO}]", 2),
    ("queue", "[QueueExtension]", 1),
    ("contact_id", "[Contact::ContactID]", 1),
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
            # As 3CX's own templates (written by .NET's XmlSerializer) begin.
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xmlns:xsd": "http://www.w3.org/2001/XMLSchema",
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
        attributes = {"Name": name, "Type": kind}
        if parent:
            attributes["Parent"] = parent
        attributes |= {"Editor": "String", "Title": title, "Default": default}
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
    for key, variable, passes in REPORT_VALUES:
        attributes = {"Key": key, "Passes": str(passes), "Type": "String"}
        SubElement(values, "Value", attributes).text = variable
    SubElement(scenario, "Variables")
    SubElement(scenario, "Outputs", {"AllowEmpty": "true"})
