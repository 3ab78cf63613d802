"""policies, renewal, list by site: resident sites, revoke codes, one valid certificate per resident,
the dedup engine's state

Revision ID: 3f2a9c4d1b7e
Revises: 6750407e94e1
Create Date: 2026-11-28 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '3f2a9c4d1b7e'
down_revision = '6750407e94e1'
branch_labels = None
depends_on = None


def _schema() -> str | None:
    # On SQLite (the all-in-one) schemas are translated away for tables, but not in ALTER TABLE.
    return None if op.get_bind().dialect.name == "sqlite" else "certificate"


def upgrade() -> None:
    with op.batch_alter_table('certificate_residents', schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column('pickup_site', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('recording_site', sa.String(length=16), nullable=True))
    op.create_index(op.f('ix_certificate_residents_pickup_site'), 'certificate_residents', ['pickup_site'], unique=False, schema='certificate')
    op.create_index(op.f('ix_certificate_residents_recording_site'), 'certificate_residents', ['recording_site'], unique=False, schema='certificate')
    residents = sa.table('certificate_residents', sa.column('enrollment_id', sa.Uuid()), sa.column('record', sa.JSON()),
                         sa.column('pickup_site', sa.String()), sa.column('recording_site', sa.String()), schema=_schema())
    bind = op.get_bind()
    for enrollment_id, record in bind.execute(sa.select(residents.c.enrollment_id, residents.c.record)).all():
        bind.execute(residents.update().where(residents.c.enrollment_id == enrollment_id).values(
            pickup_site=record.get('pickup_site'), recording_site=(record.get('recording') or {}).get('site')))

    with op.batch_alter_table('certificates', schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column('revoke_code', sa.String(length=24), nullable=True))
    certificates = sa.table('certificates', sa.column('status', sa.String()), sa.column('revoke_code', sa.String()), schema=_schema())
    op.execute(certificates.update().where(certificates.c.status == 'SUPERSEDED').values(revoke_code='superseded'))
    op.execute(certificates.update().where(certificates.c.status == 'REVOKED').values(revoke_code='operator'))
    op.create_index('uq_certificates_one_valid', 'certificates', ['enrollment_id'], unique=True, schema='certificate',
                    postgresql_where=sa.text("status = 'VALID'"), sqlite_where=sa.text("status = 'VALID'"))

    op.create_table('certificate_dedup_engine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_dedup_engine')),
    schema='certificate'
    )


def downgrade() -> None:
    op.drop_table('certificate_dedup_engine', schema='certificate')
    op.drop_index('uq_certificates_one_valid', table_name='certificates', schema='certificate',
                  postgresql_where=sa.text("status = 'VALID'"), sqlite_where=sa.text("status = 'VALID'"))
    with op.batch_alter_table('certificates', schema=_schema()) as batch_op:
        batch_op.drop_column('revoke_code')
    op.drop_index(op.f('ix_certificate_residents_recording_site'), table_name='certificate_residents', schema='certificate')
    op.drop_index(op.f('ix_certificate_residents_pickup_site'), table_name='certificate_residents', schema='certificate')
    with op.batch_alter_table('certificate_residents', schema=_schema()) as batch_op:
        batch_op.drop_column('recording_site')
        batch_op.drop_column('pickup_site')
