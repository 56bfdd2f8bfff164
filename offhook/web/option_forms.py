"""A driver's options as a form: the fields of its pydantic model, read back from the form.

The driver describes its options once (`Driver.Options`, `Driver.LineOptions`); the settings
pages show them as inputs of the right kind and hand what was entered to the same validation
as the command line. Secrets are never shown back: an empty secret field keeps the stored one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from offhook.settings.language import _, gettext

Kind = Literal["text", "number", "checkbox", "password", "lines", "json"]
PREFIX = "opt."


@dataclass(frozen=True, slots=True)
class OptionField:
    name: str
    label: str
    hint: str
    kind: Kind
    value: str
    checked: bool = False
    required: bool = False

    @property
    def input_name(self) -> str:
        return PREFIX + self.name


def _plain(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _kind(info: FieldInfo) -> Kind:
    annotation = _plain(info.annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if annotation is SecretStr or extra.get("secret"):
        return "password"
    if annotation is bool:
        return "checkbox"
    if annotation in (int, float):
        return "number"
    if annotation is str or get_origin(annotation) is Literal:
        return "text"
    if get_origin(annotation) is list and get_args(annotation) in ((str,), (int,)):
        return "lines"
    return "json"


def _shown(kind: Kind, value: Any) -> str:
    if kind == "password" or value is None:
        return ""
    if kind == "lines":
        return "\n".join(str(v) for v in value)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def fields_of(model: type[BaseModel], values: dict[str, Any] | None = None) -> list[OptionField]:
    """The form fields for `model`, filled with `values` (or the defaults)."""
    values = values or {}
    fields = []
    for name, info in model.model_fields.items():
        kind = _kind(info)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        value = values.get(name, default)
        fields.append(
            OptionField(
                name=name,
                # Marked N_ by the driver (`Field(title=N_(…))`), shown in the user's language.
                label=gettext(info.title or name.replace("_", " ").capitalize()),
                hint=gettext(info.description) if info.description else "",
                kind=kind,
                value=_shown(kind, value),
                checked=bool(value) if kind == "checkbox" else False,
                required=info.is_required() and kind != "password",
            )
        )
    return fields


class OptionsFormError(ValueError):
    """What was entered cannot be read as the option's kind; the message says which."""


def read_fields(model: type[BaseModel], form: dict[str, str]) -> dict[str, Any]:
    """The options entered in the form, for the driver's validation. A secret left empty is
    left out, so the stored one is kept."""
    options: dict[str, Any] = {}
    for field in fields_of(model):
        raw = form.get(field.input_name)
        if field.kind == "checkbox":
            options[field.name] = raw == "on"
            continue
        if raw is None:
            continue
        raw = raw.strip()
        if field.kind == "password":
            if raw:
                options[field.name] = raw
        elif field.kind == "lines":
            options[field.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif field.kind == "json":
            if raw:
                try:
                    options[field.name] = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise OptionsFormError(
                        _("{label}: not valid JSON ({problem})").format(
                            label=field.label, problem=exc.msg
                        )
                    ) from exc
        elif raw or field.required:
            options[field.name] = raw
    return options
