"""a print record names the newer recording that replaced it (its card is cancelled or void)

Revision ID: c5d2e8a41f07
Revises: 9e41c7a2d5b8
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa

revision = "c5d2e8a41f07"
down_revision = "9e41c7a2d5b8"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    return None if op.get_bind().dialect.name == "sqlite" else "print"


def upgrade() -> None:
    with op.batch_alter_table("print_records", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("replaced_by", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("print_records", schema=_schema()) as batch_op:
        batch_op.drop_column("replaced_by")
