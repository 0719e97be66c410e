"""Operator accounts and their refresh tokens, in the gateway's schema.

Passwords are hashed with argon2; refresh tokens are stored only as SHA-256 digests. A new
password, another role or a deletion revokes the operator's refresh tokens in the same
transaction and bumps ``credentials_version``, which access tokens carry as ``pwv``; so
does disabling the operator. Every change of an operator's credentials is announced through
``on_change`` (the gateways' credential caches drop the operator at once).
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from psycopg_pool import AsyncConnectionPool

from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.log import get_logger

log = get_logger(__name__)

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a wrong email costs as much time as a
# wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("no such operator")


class Role(enum.StrEnum):
    ADMIN = "admin"  # manages operators, and everything a manager does
    MANAGER = "manager"  # writes campaigns
    VIEWER = "viewer"  # reads


class Operator(msgspec.Struct, frozen=True):
    """Who is calling, as their access token says."""

    id: str
    email: str
    name: str
    role: Role
    # 0 for a token issued before tokens carried it: it never matches a stored account.
    credentials_version: int = 0
    # The first login with a password set by someone else: only changing it is allowed.
    must_change_password: bool = False


class Account(msgspec.Struct, frozen=True):
    """An operator as stored (never with the password hash)."""

    id: str
    email: str
    name: str
    role: Role
    credentials_version: int
    created_at: datetime
    updated_at: datetime
    disabled: bool = False
    must_change_password: bool = False

    def as_operator(self) -> Operator:
        return Operator(
            id=self.id,
            email=self.email,
            name=self.name,
            role=self.role,
            credentials_version=self.credentials_version,
            must_change_password=self.must_change_password,
        )


class OperatorCode:
    USER_NOT_FOUND = "USER_NOT_FOUND"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    LAST_ADMIN = "LAST_ADMIN"
    WRONG_PASSWORD = "WRONG_PASSWORD"
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"


class OperatorNotFound(Problem):
    code = OperatorCode.USER_NOT_FOUND


class EmailTaken(Problem):
    code = OperatorCode.EMAIL_TAKEN


class LastAdmin(Problem):
    code = OperatorCode.LAST_ADMIN


class WrongPassword(Problem):
    code = OperatorCode.WRONG_PASSWORD


class NotAuthenticated(Problem):
    """The token's operator no longer exists, or its password or role changed since."""

    code = ErrorCode.UNAUTHORIZED


class NotAllowed(Problem):
    code = ErrorCode.FORBIDDEN


class AccountDisabled(Problem):
    code = OperatorCode.ACCOUNT_DISABLED


class InvalidRefreshToken(Problem):
    code = ErrorCode.UNAUTHORIZED


_ACCOUNT_COLUMNS = (
    "id::text, email, name, role, credentials_version, created_at, updated_at, disabled, "
    "must_change_password"
)
_PASSWORD_HASH = 9  # the column after _ACCOUNT_COLUMNS where a query adds it


def _account(row: tuple) -> Account:
    return Account(
        id=row[0],
        email=row[1],
        name=row[2],
        role=Role(row[3]),
        credentials_version=row[4],
        created_at=row[5],
        updated_at=row[6],
        disabled=row[7],
        must_change_password=row[8],
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _digest(refresh_token: str) -> bytes:
    # The token is 256 random bits: a plain hash cannot be brute-forced, no salt is needed.
    return hashlib.sha256(refresh_token.encode()).digest()


async def _hash_password(password: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, stored_hash, password)
    except VerificationError:
        return False


class OperatorStore:
    """The operators, their passwords and refresh tokens (schema ``gateway``)."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        refresh_token_ttl_seconds: int,
        on_change: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.pool = pool
        self.refresh_token_ttl_seconds = refresh_token_ttl_seconds
        self._on_change = on_change

    async def _changed(self, operator_id: str) -> None:
        if self._on_change is not None:
            await self._on_change(operator_id)

    async def ensure_admin(
        self, email: str, password: str | None, *, must_change_password: bool
    ) -> None:
        """Create the bootstrap admin when there is no administrator at all.

        Not merely when its email is free: an administrator deleted on purpose must not come
        back at the next start. Without a password one is generated and logged, this once;
        ``must_change_password`` makes the first login change it.
        """
        generated = password is None
        if password is None:
            password = secrets.token_urlsafe(18)
        password_hash = await _hash_password(password)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                """
                INSERT INTO gateway.operators
                    (id, email, name, role, password_hash, must_change_password)
                SELECT %s, %s, 'Administrator', 'admin', %s, %s
                WHERE NOT EXISTS (SELECT 1 FROM gateway.operators WHERE role = 'admin')
                ON CONFLICT DO NOTHING
                """,
                (uuid.uuid4(), email, password_hash, must_change_password),
            )
            if cursor.rowcount:
                if generated:
                    # The only time this password exists outside its hash: the operator
                    # who reads the log logs in with it and must choose another.
                    log.warning(
                        "operators.bootstrap_admin_created",
                        email=email,
                        generated_password=password,
                        must_change_password=must_change_password,
                    )
                else:
                    log.info("operators.bootstrap_admin_created", email=email)
                return
            row = await (
                await conn.execute("SELECT count(*) FROM gateway.operators WHERE role = 'admin'")
            ).fetchone()
            if not row or not row[0]:
                log.warning(
                    "operators.no_administrator",
                    email=email,
                    hint="BOOTSTRAP_ADMIN_EMAIL belongs to an operator who is not an admin",
                )

    async def authenticate(self, email: str, password: str) -> Account | None:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT {_ACCOUNT_COLUMNS}, password_hash FROM gateway.operators "
                    "WHERE lower(email) = lower(%s)",
                    (email,),
                )
            ).fetchone()
        matches = await _password_matches(row[_PASSWORD_HASH] if row else _DUMMY_HASH, password)
        if row is None or not matches:
            return None
        return _account(row)

    async def get(self, operator_id: str) -> Account | None:
        key = _uuid(operator_id)
        if key is None:
            return None
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT {_ACCOUNT_COLUMNS} FROM gateway.operators WHERE id = %s", (key,)
                )
            ).fetchone()
        return _account(row) if row else None

    async def current(self, operator: Operator) -> Account:
        """The caller's account, if their token is still faithful to it."""
        account = await self.get(operator.id)
        if account is None:
            raise NotAuthenticated("this token's operator no longer exists")
        if account.credentials_version != operator.credentials_version:
            raise NotAuthenticated("this token predates a change of password or role: log in again")
        if account.disabled:
            raise NotAuthenticated("this operator is disabled")
        return account

    async def page(self, page: int, limit: int) -> tuple[list[Account], int]:
        """A page of operators, oldest first, and how many there are in all."""
        async with self.pool.connection() as conn:
            total_row = await (
                await conn.execute("SELECT count(*) FROM gateway.operators")
            ).fetchone()
            rows = await (
                await conn.execute(
                    f"SELECT {_ACCOUNT_COLUMNS} FROM gateway.operators "
                    "ORDER BY created_at, id LIMIT %s OFFSET %s",
                    (limit, (page - 1) * limit),
                )
            ).fetchall()
        return [_account(row) for row in rows], total_row[0] if total_row else 0

    async def create(
        self, actor: Operator, *, email: str, password: str, name: str, role: Role
    ) -> Account:
        password_hash = await _hash_password(password)
        async with self.pool.connection() as conn, conn.transaction():
            await self._check_admin(conn, actor)
            try:
                row = await (
                    await conn.execute(
                        "INSERT INTO gateway.operators (id, email, name, role, password_hash) "
                        f"VALUES (%s, %s, %s, %s, %s) RETURNING {_ACCOUNT_COLUMNS}",
                        (uuid.uuid4(), email, name, role.value, password_hash),
                    )
                ).fetchone()
            except psycopg.errors.UniqueViolation:
                raise EmailTaken(f"an operator with the email {email!r} exists") from None
        assert row is not None
        account = _account(row)
        log.info("operators.created", operator_id=account.id, role=role, actor_id=actor.id)
        return account

    async def update(
        self,
        actor: Operator,
        operator_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        role: Role | None = None,
        password: str | None = None,
        disabled: bool | None = None,
    ) -> Account:
        """Change the fields given. A new password or role, or disabling the operator,
        revokes their tokens."""
        password_hash = await _hash_password(password) if password is not None else None
        async with self.pool.connection() as conn, conn.transaction():
            await self._lock_admins(conn)
            await self._check_admin(conn, actor)
            target = await self._locked(conn, operator_id)
            demoted = role is not None and role != Role.ADMIN
            if target.role == Role.ADMIN and (demoted or disabled):
                await self._keep_an_admin(conn)
            weakened = (
                password_hash is not None
                or (role is not None and role != target.role)
                or (disabled is True and not target.disabled)
            )
            try:
                row = await (
                    await conn.execute(
                        f"""
                        UPDATE gateway.operators SET
                            email = coalesce(%s, email),
                            name = coalesce(%s, name),
                            role = coalesce(%s, role),
                            password_hash = coalesce(%s, password_hash),
                            disabled = coalesce(%s, disabled),
                            credentials_version = credentials_version + %s,
                            updated_at = now()
                        WHERE id = %s
                        RETURNING {_ACCOUNT_COLUMNS}
                        """,
                        (
                            email,
                            name,
                            role.value if role else None,
                            password_hash,
                            disabled,
                            1 if weakened else 0,
                            target.id,
                        ),
                    )
                ).fetchone()
            except psycopg.errors.UniqueViolation:
                raise EmailTaken(f"an operator with the email {email!r} exists") from None
            if weakened:
                await self._revoke_refresh_tokens(conn, target.id)
        assert row is not None
        log.info(
            "operators.updated",
            operator_id=target.id,
            actor_id=actor.id,
            changed=[
                field
                for field, value in (
                    ("email", email),
                    ("name", name),
                    ("role", role),
                    ("password", password),
                    ("disabled", disabled),
                )
                if value is not None
            ],
        )
        await self._changed(target.id)
        return _account(row)

    async def delete(self, actor: Operator, operator_id: str) -> None:
        """Delete an operator; their refresh tokens go with them."""
        async with self.pool.connection() as conn, conn.transaction():
            await self._lock_admins(conn)
            await self._check_admin(conn, actor)
            target = await self._locked(conn, operator_id)
            if target.role == Role.ADMIN:
                await self._keep_an_admin(conn)
            await conn.execute("DELETE FROM gateway.operators WHERE id = %s", (target.id,))
        log.info("operators.deleted", operator_id=target.id, actor_id=actor.id)
        await self._changed(target.id)

    async def change_password(self, operator: Operator, current: str, new: str) -> Account:
        """The caller's own password, proven by the current one. Revokes refresh tokens."""
        account = await self.current(operator)
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT password_hash FROM gateway.operators WHERE id = %s", (account.id,)
                )
            ).fetchone()
        if row is None:
            raise NotAuthenticated("this token's operator no longer exists")
        old_hash = row[0]
        if not await _password_matches(old_hash, current):
            raise WrongPassword("currentPassword is not this operator's password")
        new_hash = await _hash_password(new)
        async with self.pool.connection() as conn, conn.transaction():
            # Only if nobody changed the password since it was verified.
            updated = await (
                await conn.execute(
                    f"""
                    UPDATE gateway.operators SET
                        password_hash = %s,
                        must_change_password = false,
                        credentials_version = credentials_version + 1,
                        updated_at = now()
                    WHERE id = %s AND password_hash = %s
                    RETURNING {_ACCOUNT_COLUMNS}
                    """,
                    (new_hash, account.id, old_hash),
                )
            ).fetchone()
            if updated is None:
                raise WrongPassword("the password changed meanwhile: currentPassword is stale")
            await self._revoke_refresh_tokens(conn, account.id)
        log.info("operators.password_changed", operator_id=account.id)
        await self._changed(account.id)
        return _account(updated)

    async def log_out(self, refresh_token: str) -> None:
        """Revoke the login a refresh token belongs to (its whole family); an unknown token
        changes nothing. Access tokens of that login lapse within their short life."""
        async with self.pool.connection() as conn:
            await conn.execute(
                """
                UPDATE gateway.refresh_tokens SET revoked_at = now()
                WHERE revoked_at IS NULL AND family_id = (
                    SELECT family_id FROM gateway.refresh_tokens WHERE token_hash = %s)
                """,
                (_digest(refresh_token),),
            )

    async def issue_refresh_token(self, account: Account) -> str:
        """A refresh token starting a new family (one per login)."""
        async with self.pool.connection() as conn, conn.transaction():
            return await self._insert_refresh_token(conn, account.id, uuid.uuid4())

    async def rotate_refresh_token(self, refresh_token: str) -> tuple[Account, str]:
        """Spend a refresh token: its operator and the token that replaces it.

        A token already spent means it was copied: its whole family is revoked, so neither
        the thief nor the rightful client can refresh again without logging in.
        """
        digest = _digest(refresh_token)
        reused: tuple[str, uuid.UUID] | None = None
        async with self.pool.connection() as conn, conn.transaction():
            found = await (
                await conn.execute(
                    "SELECT operator_id FROM gateway.refresh_tokens WHERE token_hash = %s",
                    (digest,),
                )
            ).fetchone()
            if found is None:
                raise InvalidRefreshToken("this refresh token is not valid: log in again")
            # The operator's row before the token's, in the order a password change takes
            # them: a refresh racing with that change waits and then finds the token revoked.
            account_row = await (
                await conn.execute(
                    f"SELECT {_ACCOUNT_COLUMNS} FROM gateway.operators WHERE id = %s FOR SHARE",
                    (found[0],),
                )
            ).fetchone()
            token = await (
                await conn.execute(
                    """
                    SELECT family_id, rotated_at IS NOT NULL, revoked_at IS NOT NULL,
                           expires_at <= now()
                    FROM gateway.refresh_tokens WHERE token_hash = %s FOR UPDATE
                    """,
                    (digest,),
                )
            ).fetchone()
            if account_row is None or token is None:
                raise InvalidRefreshToken("this refresh token is not valid: log in again")
            family_id, rotated, revoked, expired = token
            account = _account(account_row)
            if rotated and not revoked:
                await conn.execute(
                    "UPDATE gateway.refresh_tokens SET revoked_at = now() "
                    "WHERE family_id = %s AND revoked_at IS NULL",
                    (family_id,),
                )
                reused = (account.id, family_id)
            elif revoked or expired or rotated:
                raise InvalidRefreshToken("this refresh token is not valid: log in again")
            else:
                await conn.execute(
                    "UPDATE gateway.refresh_tokens SET rotated_at = now() WHERE token_hash = %s",
                    (digest,),
                )
                successor = await self._insert_refresh_token(conn, account.id, family_id)
        if reused is not None:
            # Raised after the commit: the family's revocation must stick.
            log.warning(
                "auth.refresh_token_reused", operator_id=reused[0], family_id=str(reused[1])
            )
            raise InvalidRefreshToken("this refresh token is not valid: log in again")
        return account, successor

    async def _insert_refresh_token(
        self, conn: psycopg.AsyncConnection, operator_id: str, family_id: uuid.UUID
    ) -> str:
        refresh_token = secrets.token_urlsafe(32)
        # Expired tokens are of no use, not even to detect a reuse: forget them.
        await conn.execute(
            "DELETE FROM gateway.refresh_tokens WHERE operator_id = %s AND expires_at <= now()",
            (operator_id,),
        )
        await conn.execute(
            """
            INSERT INTO gateway.refresh_tokens (token_hash, family_id, operator_id, expires_at)
            VALUES (%s, %s, %s, now() + make_interval(secs => %s))
            """,
            (_digest(refresh_token), family_id, operator_id, self.refresh_token_ttl_seconds),
        )
        return refresh_token

    @staticmethod
    async def _revoke_refresh_tokens(conn: psycopg.AsyncConnection, operator_id: str) -> None:
        await conn.execute(
            "UPDATE gateway.refresh_tokens SET revoked_at = now() "
            "WHERE operator_id = %s AND revoked_at IS NULL",
            (operator_id,),
        )

    @staticmethod
    async def _lock_admins(conn: psycopg.AsyncConnection) -> None:
        # Serializes every change that could remove an administrator, so that two of them
        # demoting each other at the same moment cannot leave none.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('telecast.gateway.admins'))")

    @staticmethod
    async def _check_admin(conn: psycopg.AsyncConnection, actor: Operator) -> None:
        """The actor is, in this transaction, still an administrator with this token."""
        row = await (
            await conn.execute(
                "SELECT role, credentials_version FROM gateway.operators WHERE id = %s FOR SHARE",
                (_uuid(actor.id),),
            )
        ).fetchone()
        if row is None:
            raise NotAuthenticated("this token's operator no longer exists")
        if row[1] != actor.credentials_version:
            raise NotAuthenticated("this token predates a change of password or role: log in again")
        if row[0] != Role.ADMIN:
            raise NotAllowed("this needs the admin role")

    @staticmethod
    async def _locked(conn: psycopg.AsyncConnection, operator_id: str) -> Account:
        key = _uuid(operator_id)
        row = None
        if key is not None:
            row = await (
                await conn.execute(
                    f"SELECT {_ACCOUNT_COLUMNS} FROM gateway.operators WHERE id = %s FOR UPDATE",
                    (key,),
                )
            ).fetchone()
        if row is None:
            raise OperatorNotFound(f"no operator with the id {operator_id!r}")
        return _account(row)

    @staticmethod
    async def _keep_an_admin(conn: psycopg.AsyncConnection) -> None:
        row = await (
            await conn.execute(
                "SELECT count(*) FROM gateway.operators WHERE role = 'admin' AND NOT disabled"
            )
        ).fetchone()
        if row is None or row[0] <= 1:
            raise LastAdmin("this is the last administrator: make another operator an admin first")
