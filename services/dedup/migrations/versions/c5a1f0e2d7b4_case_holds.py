"""a case is held by the adjudicator who took it, until held_until

Revision ID: c5a1f0e2d7b4
Revises: 7d2e4b9a1c30
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "c5a1f0e2d7b4"
down_revision = "7d2e4b9a1c30"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    # On SQLite (the all-in-one) schemas are translated away for tables, but not in ALTER TABLE.
    return None if op.get_bind().dialect.name == "sqlite" else "dedup"


def upgrade() -> None:
    with op.batch_alter_table("dedup_cases", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("held_by", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dedup_cases", schema=_schema()) as batch_op:
        batch_op.drop_column("held_until")
        batch_op.drop_column("held_by")
