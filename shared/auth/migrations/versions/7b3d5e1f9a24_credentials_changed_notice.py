"""credentials_changed notice: a trigger that tells every process's credential cache

Revision ID: 7b3d5e1f9a24
Revises: 01293d27b143
Create Date: 2026-11-29 05:30:00
"""

from alembic import op

revision = '7b3d5e1f9a24'
down_revision = '01293d27b143'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL only: the all-in-one (SQLite) keeps no credential cache (shared/auth/cache.py).
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION auth.credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('ektp_credentials', '');
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER credentials_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON auth.credentials
        FOR EACH STATEMENT EXECUTE FUNCTION auth.credentials_changed()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER credentials_changed ON auth.credentials")
    op.execute("DROP FUNCTION auth.credentials_changed()")
