"""Organizations, users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from annotate.errors import Conflict, NotFound, ValidationFailed
from annotate.extensions import db
from annotate.models import ApiToken, Membership, Organization, User
from annotate.models.types import utcnow
from workflows import Role

_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,80}$")
TOKEN_PREFIX = "ann_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_organization(name: str) -> Organization:
    """Create an organization (not committed).

    Raises:
        Conflict: the name is taken.
    """
    if db.session.scalar(select(Organization).where(Organization.name == name)):
        raise Conflict(f"an organization named {name!r} already exists", {"name": "taken"})
    org = Organization(name=name)
    db.session.add(org)
    db.session.flush()
    return org


def create_user(org: Organization, username: str, password: str, role: str, email: str | None = None) -> User:
    """Create a user in ``org`` with an organization-wide ``role`` (not committed).

    Args:
        org: the user's organization.
        username: 2-80 characters of letters, digits, ``_ . -``.
        password: at least 8 characters; stored only as a scrypt hash.
        role: admin, manager, reviewer or labeler.

    Raises:
        ValidationFailed: a bad username, password or role.
        Conflict: the username is taken.
    """
    errors = {}
    if not _USERNAME.match(username or ""):
        errors["username"] = "use 2-80 letters, digits, '_', '.' or '-'"
    if len(password or "") < 8:
        errors["password"] = "use at least 8 characters"
    if role not in {r.value for r in Role}:
        errors["role"] = f"must be one of {', '.join(r.value for r in Role)}"
    if errors:
        raise ValidationFailed("the user cannot be created", errors)
    if db.session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"the username {username!r} is taken", {"username": "taken"})
    user = User(username=username, email=email, password_hash=generate_password_hash(password))
    user.membership = Membership(org_id=org.id, role=role)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def _hash_token(secret: str) -> str:
    # Tokens are long random strings, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(user: User, name: str) -> tuple[str, ApiToken]:
    """Create an API token for ``user`` (committed). The secret is returned once, never stored.

    Returns:
        ``(secret, token_row)``; send the secret as ``Authorization: Bearer <secret>``.
    """
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name or "token", prefix=secret[:12], token_hash=_hash_token(secret))
    db.session.add(token)
    db.session.commit()
    return secret, token


def revoke_api_token(user: User, token_id: int) -> None:
    """Revoke one of ``user``'s tokens (committed); revoking it again changes nothing.

    Raises:
        NotFound: no token ``token_id``, or it is another user's (we do not say which).
    """
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"token {token_id} not found", {"token_id": "not one of your tokens"})
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()


@cache
def _token_query() -> Select:
    # Built once: building and fingerprinting a statement costs as much CPU as running it.
    return (
        select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
    )


def user_for_token(secret: str) -> User | None:
    """Return the active user owning the unrevoked token ``secret``, or None.

    One statement reads the token with its user (and, joined, the membership), since this runs
    on every API call; revocation and deactivation take effect on the next call.
    """
    row = db.session.execute(_token_query(), {"token_hash": _hash_token(secret)}).first()
    if row is None or not row.User.active:
        return None
    user, token_id, last_used_at = row
    now = utcnow()
    # Record use at most once a minute: a write and commit on every API call costs more than
    # the call itself under load, and "last used" needs no finer grain.
    if last_used_at is None or now - _aware(last_used_at) > LAST_USED_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    return user


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they are stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
