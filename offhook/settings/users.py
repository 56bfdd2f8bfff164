"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from offhook.settings.sessions import end_sessions_of
from offhook.settings.touches import Touches
from offhook.store.models import ApiToken, User

ROLES = ("admin", "user")
TOKEN_PREFIX = "ohk_"  # noqa: S105 - marks offhook tokens, not a secret
_hasher = PasswordHasher()

# Verifying against this when the login is unknown keeps the timing of both answers alike.
_DUMMY_HASH = _hasher.hash("offhook-timing-equaliser")


class AuthError(ValueError):
    """Bad input for a user or token; the message is for the user."""


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise AuthError("a password needs at least 8 characters")
    if len(password) > 1024:
        raise AuthError("a password may have at most 1024 characters")
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    if len(password) > 1024:
        return False
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None and user.active


def find_user(session: Session, login: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.login) == login.strip().lower()))


def authenticate(session: Session, login: str, password: str) -> User | None:
    user = find_user(session, login)
    if not verify_password(user, password):
        return None
    if user is not None and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def add_user(
    session: Session,
    login: str,
    name: str,
    password: str,
    role: str = "user",
    extension: str | None = None,
    email: str | None = None,
) -> User:
    login = login.strip()
    if not login or len(login) > 80 or any(c.isspace() for c in login):
        raise AuthError("a login is 1 to 80 characters without spaces")
    if role not in ROLES:
        raise AuthError(f"the role must be one of: {', '.join(ROLES)}")
    if find_user(session, login) is not None:
        raise AuthError(f"there is already a user with the login {login!r}")
    if extension is not None and extension and not extension.isdigit():
        raise AuthError("an extension consists of digits only")
    user = User(
        login=login,
        name=name.strip() or login,
        password_hash=hash_password(password),
        role=role,
        extension=extension or None,
        email=email or None,
    )
    session.add(user)
    session.flush()
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> str:
    """A new API token for `user`; only its hash is stored, so show it once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name[:200], token_hash=_token_hash(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str, touches: Touches | None = None) -> User | None:
    """The active user of `token`. Its use is noted in `touches` (written later, together
    with others), or without them in this session."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(_TOKEN, {"token_hash": _token_hash(token)})
    if row is None or not row.user.active:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        # Coarse, so busy API clients do not write on every request.
        if touches is not None:
            touches.token(row.id, now)
        else:
            row.last_used_at = now
    return row.user


# The token and its user in one query, built once (every API request runs it).
_TOKEN = (
    select(ApiToken)
    .options(joinedload(ApiToken.user))
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


# --- what an admin does with users, and a user with their own profile ---------------------------


class UserNotFound(LookupError):
    """There is no user with this id; interfaces answer "not found"."""


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.login)))


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(user_id)
    return user


def _other_user(session: Session, user_id: int, admin_id: int) -> User:
    """A user an admin changes the role or activity of: never the admin themselves, so that
    there is always an admin left who can undo it."""
    user = _user(session, user_id)
    if user.id == admin_id:
        raise AuthError("you cannot change your own role or deactivate yourself")
    return user


def set_password(session: Session, user_id: int, password: str) -> User:
    """An admin sets a user's password; it logs them out everywhere."""
    user = _user(session, user_id)
    user.password_hash = hash_password(password)
    end_sessions_of(session, user.id)
    return user


def set_role(session: Session, user_id: int, role: str, admin_id: int) -> User:
    """Anything but "admin" makes a plain user: a mistyped role grants nothing."""
    user = _other_user(session, user_id, admin_id)
    user.role = "admin" if role == "admin" else "user"
    return user


def set_active(session: Session, user_id: int, active: bool, admin_id: int) -> User:
    user = _other_user(session, user_id, admin_id)
    user.active = active
    if not active:
        end_sessions_of(session, user.id)
    return user


def change_own_password(
    session: Session, user_id: int, current: str, password: str, confirm: str
) -> User:
    """A user changes their password, proving they know the current one. Every session of
    theirs ends; the interface starts a new one for the browser they changed it in."""
    user = _user(session, user_id)
    if not verify_password(user, current):
        raise AuthError("your current password is not right")
    if password != confirm:
        raise AuthError("the new passwords do not match")
    user.password_hash = hash_password(password)
    end_sessions_of(session, user.id)
    session.flush()
    return user


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
        )
    )


def revoke_token(session: Session, user_id: int, token_id: int) -> None:
    """Only the user's own tokens: another user's answers as if it did not exist."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise AuthError("no such token")
    session.delete(token)
