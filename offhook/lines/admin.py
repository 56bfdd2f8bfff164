"""Setting phone systems and lines up: Settings > Phone systems, Settings > Lines, and
Settings > Interfaces > Extensions (where drivers are installed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from offhook.drivers.contract import Driver
from offhook.drivers.registry import available_drivers, driver_class
from offhook.store.models import InstalledDriver, Line, PhoneSystem, User

OptionsOf = Literal["phone system", "line"]


class LineConfigError(ValueError):
    """A phone system, line or driver cannot be set up like that; the message says why."""


# --- drivers (Settings > Interfaces > Extensions) ------------------------------------------------


def installed_driver(session: Session, name: str) -> InstalledDriver:
    row = session.get(InstalledDriver, name)
    if row is None:
        row = InstalledDriver(name=name, installed=False, auto_load=False)
        session.add(row)
    return row


def install_driver(session: Session, name: str, auto_load: bool = True) -> InstalledDriver:
    info = available_drivers().get(name)
    if info is None:
        known = ", ".join(available_drivers()) or "none"
        raise LineConfigError(f"no driver named {name!r} is installed here (there are: {known})")
    if info.driver is None:
        raise LineConfigError(f"the driver {name!r} {info.error}")
    row = installed_driver(session, name)
    if not row.installed:
        row.installed_at = datetime.now(UTC)
    row.installed = True
    row.auto_load = auto_load
    return row


def uninstall_driver(session: Session, name: str) -> InstalledDriver:
    row = installed_driver(session, name)
    row.installed = False
    row.auto_load = False
    return row


def set_auto_load(session: Session, name: str, auto_load: bool) -> InstalledDriver:
    row = session.get(InstalledDriver, name)
    if row is None or not row.installed:
        raise LineConfigError("install the driver first")
    row.auto_load = auto_load
    return row


def _installed_class(session: Session, driver: str) -> type[Driver]:
    row = session.get(InstalledDriver, driver)
    if row is None or not row.installed:
        raise LineConfigError(
            f"the {driver!r} driver is not installed: install it in Settings > Interfaces > "
            f"Extensions (or run 'offhook drivers install {driver}')"
        )
    try:
        return driver_class(driver)
    except LookupError as exc:
        raise LineConfigError(str(exc)) from exc


# --- options -------------------------------------------------------------------------------------


def _model(cls: type[Driver], of: OptionsOf) -> type[BaseModel]:
    return cls.Options if of == "phone system" else cls.LineOptions


def validate_options(
    driver: str, options: dict[str, Any], of: OptionsOf = "phone system"
) -> dict[str, Any]:
    """The options as the driver understands them; a clear error for anything else."""
    try:
        cls = driver_class(driver)
    except LookupError as exc:
        raise LineConfigError(str(exc)) from exc
    try:
        model = _model(cls, of).model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'options'}: {error['msg']}"
            for error in exc.errors()
        )
        raise LineConfigError(
            f"the {of} options do not suit the {driver} driver: {problems}"
        ) from exc
    return model.model_dump(mode="json", exclude_unset=False) | _secrets(model)


def _secrets(model: BaseModel) -> dict[str, Any]:
    # model_dump(mode="json") masks SecretStr as "**********"; keep the real value in the store.
    return {key: value.get_secret_value() for key, value in model if isinstance(value, SecretStr)}


def public_options(
    driver: str, options: dict[str, Any] | None, of: OptionsOf = "phone system"
) -> dict[str, Any]:
    """Options with secrets masked, for lists and logs."""
    try:
        model = _model(driver_class(driver), of).model_validate(options or {})
        return dict(model.model_dump(mode="json"))
    except Exception:
        return {key: "…" for key in (options or {})}


# --- phone systems and lines ---------------------------------------------------------------------


def _name(text: str, what: str) -> str:
    text = text.strip()
    if len(text) > 200:
        raise LineConfigError(f"{what} may have at most 200 characters")
    return text


def add_phone_system(
    session: Session, driver: str, name: str, options: dict[str, Any] | None = None
) -> PhoneSystem:
    _installed_class(session, driver)
    name = _name(name, "the name")
    if not name:
        raise LineConfigError("give the phone system a name, e.g. the PBX's host or account")
    system = PhoneSystem(
        driver=driver, name=name, options=validate_options(driver, options or {}), enabled=True
    )
    session.add(system)
    session.flush()
    return system


def update_phone_system(
    session: Session, system: PhoneSystem, name: str, options: dict[str, Any]
) -> PhoneSystem:
    name = _name(name, "the name")
    if not name:
        raise LineConfigError("give the phone system a name")
    # A secret left empty in the form keeps the stored one: forms never show secrets back.
    kept = {key: value for key, value in (system.options or {}).items() if key not in options}
    system.name = name
    system.options = validate_options(system.driver, {**kept, **options})
    return system


def add_line(
    session: Session,
    user: User,
    phone_system: PhoneSystem,
    address: str,
    label: str = "",
    options: dict[str, Any] | None = None,
) -> Line:
    """A line for `user` on a phone system, with their extension, device or number there."""
    cls = _installed_class(session, phone_system.driver)
    address = _name(address, "the address")
    label = _name(label, "the label")
    if not address:
        raise LineConfigError(f"a line needs its {cls.line_address_label.lower()}")
    taken = session.scalar(
        select(Line).where(Line.phone_system_id == phone_system.id, Line.address == address)
    )
    if taken is not None:
        raise LineConfigError(
            f"{address} is already a line on {phone_system.name} ({taken.user.name}'s)"
        )
    if cls.max_lines is not None:
        count = session.scalar(
            select(func.count(Line.id)).where(Line.phone_system_id == phone_system.id)
        )
        if (count or 0) >= cls.max_lines:
            raise LineConfigError(
                f"{phone_system.name} serves one line only; add a phone system for this line"
            )
    line = Line(
        user_id=user.id,
        phone_system=phone_system,
        driver=phone_system.driver,
        address=address,
        label=label,
        options=validate_options(phone_system.driver, options or {}, "line"),
    )
    session.add(line)
    session.flush()
    return line


def add_line_with_system(
    session: Session,
    user: User,
    driver: str,
    address: str,
    label: str = "",
    options: dict[str, Any] | None = None,
) -> Line:
    """A line on a phone system of its own (a softphone, a simulated phone), set up in one
    go: `options` are the phone system's."""
    _installed_class(session, driver)
    system = add_phone_system(session, driver, label or address or driver, options)
    return add_line(session, user, system, address, label)


def phone_system_by_ref(session: Session, ref: str) -> PhoneSystem:
    """A phone system by id or by name, for the command line."""
    system = session.get(PhoneSystem, int(ref)) if ref.isdigit() else None
    if system is None:
        system = session.scalar(select(PhoneSystem).where(PhoneSystem.name == ref))
    if system is None:
        raise LineConfigError(f"there is no phone system {ref!r}")
    return system
