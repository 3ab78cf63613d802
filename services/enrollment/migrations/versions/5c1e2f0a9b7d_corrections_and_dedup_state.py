"""corrections (kind of link to the previous record) and the dedup engine state as last heard

Revision ID: 5c1e2f0a9b7d
Revises: af4184e7445e
Create Date: 2026-11-29 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '5c1e2f0a9b7d'
down_revision = 'af4184e7445e'
branch_labels = None
depends_on = None


def _schema() -> str | None:
    # On SQLite (the all-in-one) schemas are translated away for tables, but not in ALTER TABLE.
    return None if op.get_bind().dialect.name == "sqlite" else "enrollment"


def upgrade() -> None:
    op.create_table('enrollment_dedup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=True),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollment_dedup_state')),
    schema='enrollment'
    )
    with op.batch_alter_table('enrollments', schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column('correction', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_enrollments_previous_enrollment_id'), ['previous_enrollment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('enrollments', schema=_schema()) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollments_previous_enrollment_id'))
        batch_op.drop_column('correction')
    op.drop_table('enrollment_dedup_state', schema='enrollment')
