"""site stock state (low-stock threshold) and reprints

Revision ID: 3b7e9c2d4a10
Revises: ff8d1f78f1f1
Create Date: 2026-11-28 16:55:00
"""

from alembic import op
import sqlalchemy as sa


revision = '3b7e9c2d4a10'
down_revision = 'ff8d1f78f1f1'
branch_labels = None
depends_on = None


def _schema() -> str | None:
    # On SQLite (the all-in-one) schemas are translated away for tables, but not in ALTER TABLE.
    return None if op.get_bind().dialect.name == "sqlite" else "print"


def upgrade() -> None:
    op.create_table('print_site_stock',
    sa.Column('site', sa.String(length=20), nullable=False),
    sa.Column('low_threshold', sa.Integer(), nullable=True),
    sa.Column('low', sa.Boolean(), nullable=False),
    sa.Column('low_since', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('site', name=op.f('pk_print_site_stock')),
    schema='print'
    )
    with op.batch_alter_table('print_jobs', schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column('reprint_of', sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('print_jobs', schema=_schema()) as batch_op:
        batch_op.drop_column('reprint_of')
    op.drop_table('print_site_stock', schema='print')
