"""biometrics are stored encrypted (text, not JSON)

Revision ID: 7d2e4b9a1c30
Revises: a469ec1dd452
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

revision = "7d2e4b9a1c30"
down_revision = "a469ec1dd452"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite keeps JSON as text already; existing plain rows stay readable (shared/crypto.py).
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("dedup_requests", "biometrics", type_=sa.Text(), postgresql_using="biometrics::text",
                        schema="dedup")


def downgrade() -> None:
    raise NotImplementedError("encrypted biometrics cannot go back to a JSON column")
