"""an adjudicator's 'same person' decision may be corrected to 'different persons': who, when, why

Revision ID: b7c4e1a9d2f3
Revises: e3b8d1c9f6a2
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "b7c4e1a9d2f3"
down_revision = "e3b8d1c9f6a2"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    # On SQLite (the all-in-one) schemas are translated away for tables, but not in ALTER TABLE.
    return None if op.get_bind().dialect.name == "sqlite" else "dedup"


def upgrade() -> None:
    with op.batch_alter_table("dedup_cases", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("corrected_by", sa.String(160), nullable=True))
        batch_op.add_column(sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("correction_reason", sa.String(1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dedup_cases", schema=_schema()) as batch_op:
        batch_op.drop_column("correction_reason")
        batch_op.drop_column("corrected_at")
        batch_op.drop_column("corrected_by")
