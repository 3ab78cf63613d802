"""a 'same person' decision keeps which candidate the recording is the same person as

Revision ID: e3b8d1c9f6a2
Revises: c5a1f0e2d7b4
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "e3b8d1c9f6a2"
down_revision = "c5a1f0e2d7b4"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    # On SQLite (the all-in-one) schemas are translated away for tables, but not in ALTER TABLE.
    return None if op.get_bind().dialect.name == "sqlite" else "dedup"


def upgrade() -> None:
    with op.batch_alter_table("dedup_cases", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("matched_enrollment_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dedup_cases", schema=_schema()) as batch_op:
        batch_op.drop_column("matched_enrollment_id")
