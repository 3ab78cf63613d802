"""A tiny "service" for the transport contract tests: its own inbox/outbox and a table of what
its handlers did, so a test can count exactly how often each event was handled."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

from shared.messaging.tables import messaging_tables

probe_metadata = MetaData(schema="auth")  # an existing schema; translated away on SQLite
probe_tables = messaging_tables(probe_metadata, "probe")
handled = Table(
    "probe_handled", probe_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(120), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("key", String(120)),
    Column("seq", Integer),
)
