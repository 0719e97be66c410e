"""Operator accounts: who may use the API, with which role. Passwords hashed with argon2."""

from __future__ import annotations

import asyncio
import enum
import uuid

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from psycopg_pool import AsyncConnectionPool

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
    id: str
    email: str
    name: str
    role: Role


_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS gateway;
CREATE TABLE IF NOT EXISTS gateway.operators (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS operators_email ON gateway.operators (lower(email));
"""


class OperatorStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create_schema(self) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('telecast.gateway.schema'))")
            await conn.execute(_SCHEMA)

    async def ensure_admin(self, email: str, password: str) -> None:
        """Create the bootstrap admin unless an operator with that email exists."""
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                """
                INSERT INTO gateway.operators (id, email, name, role, password_hash)
                VALUES (%s, %s, 'Administrator', 'admin', %s)
                ON CONFLICT DO NOTHING
                """,
                (uuid.uuid4(), email, password_hash),
            )
            if cursor.rowcount:
                log.info("operators.bootstrap_admin_created", email=email)

    async def authenticate(self, email: str, password: str) -> Operator | None:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT id::text, email, name, role, password_hash FROM gateway.operators "
                    "WHERE lower(email) = lower(%s)",
                    (email,),
                )
            ).fetchone()
        stored_hash = row[4] if row else _DUMMY_HASH
        try:
            # argon2 is deliberately slow: keep it off the event loop.
            await asyncio.to_thread(_hasher.verify, stored_hash, password)
        except VerificationError:
            return None
        if row is None:
            return None
        return Operator(id=row[0], email=row[1], name=row[2], role=Role(row[3]))
