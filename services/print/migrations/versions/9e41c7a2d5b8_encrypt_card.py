"""card data (photo, index fingers) is stored encrypted (text, not JSON)

Revision ID: 9e41c7a2d5b8
Revises: 3b7e9c2d4a10
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

revision = "9e41c7a2d5b8"
down_revision = "3b7e9c2d4a10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite keeps JSON as text already; existing plain rows stay readable (shared/crypto.py).
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("print_records", "card", type_=sa.Text(), postgresql_using="card::text", schema="print")


def downgrade() -> None:
    raise NotImplementedError("encrypted card data cannot go back to a JSON column")
