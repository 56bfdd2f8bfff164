"""Setting lines and extensions up (Settings > Lines, Settings > Interfaces > Extensions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy.orm import Session

from offhook.drivers.registry import available_drivers, driver_class
from offhook.store.models import Extension, Line, User


class LineConfigError(ValueError):
    """A line or extension cannot be set up like that; the message says why."""


def extension(session: Session, name: str) -> Extension:
    row = session.get(Extension, name)
    if row is None:
        row = Extension(name=name, installed=False, auto_load=False)
        session.add(row)
    return row


def install_extension(session: Session, name: str, auto_load: bool = True) -> Extension:
    info = available_drivers().get(name)
    if info is None:
        known = ", ".join(available_drivers()) or "none"
        raise LineConfigError(f"no extension named {name!r} is installed here (there are: {known})")
    if info.driver is None:
        raise LineConfigError(f"the extension {name!r} {info.error}")
    row = extension(session, name)
    if not row.installed:
        row.installed_at = datetime.now(UTC)
    row.installed = True
    row.auto_load = auto_load
    return row


def uninstall_extension(session: Session, name: str) -> Extension:
    row = extension(session, name)
    row.installed = False
    row.auto_load = False
    return row


def validate_options(driver: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options as the driver understands them; a clear error for anything else."""
    try:
        cls = driver_class(driver)
    except LookupError as exc:
        raise LineConfigError(str(exc)) from exc
    try:
        model = cls.Options.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'options'}: {error['msg']}"
            for error in exc.errors()
        )
        raise LineConfigError(f"the options do not suit the {driver} driver: {problems}") from exc
    return model.model_dump(mode="json", exclude_unset=False) | _secrets(model, options)


def _secrets(model: Any, raw: dict[str, Any]) -> dict[str, Any]:
    # model_dump(mode="json") masks SecretStr as "**********"; keep the real value in the store.
    return {key: value.get_secret_value() for key, value in model if isinstance(value, SecretStr)}


def public_options(line: Line) -> dict[str, Any]:
    """A line's options with secrets masked, for lists and logs."""
    try:
        cls = driver_class(line.driver)
        model = cls.Options.model_validate(line.options or {})
        return dict(model.model_dump(mode="json"))
    except Exception:
        return {key: "…" for key in (line.options or {})}


def add_line(
    session: Session,
    user: User,
    driver: str,
    address: str,
    label: str = "",
    options: dict[str, Any] | None = None,
) -> Line:
    address = address.strip()
    if not address:
        raise LineConfigError("a line needs an address (SIP URI, extension or number)")
    if len(address) > 200 or len(label) > 200:
        raise LineConfigError("address and label may have at most 200 characters")
    ext = session.get(Extension, driver)
    if ext is None or not ext.installed:
        raise LineConfigError(
            f"the {driver!r} extension is not installed: install it in Settings > Interfaces > "
            f"Extensions (or run 'offhook extensions install {driver}')"
        )
    line = Line(
        user_id=user.id,
        driver=driver,
        address=address,
        label=label.strip(),
        options=validate_options(driver, options or {}),
    )
    session.add(line)
    session.flush()
    return line
