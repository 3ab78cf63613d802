"""The outbox and inbox tables every service has in its own schema."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Uuid
from sqlalchemy.sql import func, text

from shared.crypto import EncryptedText
from shared.db import UtcDateTime

# SQLite only autoincrements INTEGER PRIMARY KEY columns.
BigId = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class MessagingTables:
    service: str
    outbox: Table
    inbox: Table


def messaging_tables(metadata: MetaData, service: str) -> MessagingTables:
    outbox = Table(
        f"{service}_outbox",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("type", String(80), nullable=False),
        Column("key", String(120)),
        Column("body", EncryptedText, nullable=False),  # events carry biometrics and photos
        Column("created_at", UtcDateTime(), nullable=False, server_default=func.now()),
        Column("sent_at", UtcDateTime()),
        Index(f"ix_{service}_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
    )
    inbox = Table(
        f"{service}_inbox",
        metadata,
        Column("consumer", String(80), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("attempts", Integer, nullable=False, server_default="1"),
        Column("handled_at", UtcDateTime(), nullable=False, server_default=func.now()),
    )
    return MessagingTables(service=service, outbox=outbox, inbox=inbox)
