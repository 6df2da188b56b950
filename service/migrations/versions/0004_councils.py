"""councils as tenants: every user, dataset, job, model, release and audit event belongs to one council

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 21:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# On SQLite, batch mode copies each table and drops the old one: Store.init runs migrations with foreign
# keys off (as SQLite's own procedure for schema changes says) and checks them afterwards.
TENANT_TABLES = ('users', 'datasets', 'jobs', 'models', 'releases', 'audit_events')


def upgrade() -> None:
    op.create_table(
        'councils',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('code', sa.String(length=40), nullable=False, unique=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('population', sa.Integer(), nullable=True),
        sa.Column('shares_aggregates', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('sharing_changed_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False, server_default=sa.func.now()),
    )
    # Everything made before councils were tenants belongs to one council, the service's first.
    op.execute("INSERT INTO councils (id, code, name, shares_aggregates) VALUES (1, 'default', 'Default council', "
               + ("false" if op.get_bind().dialect.name == 'postgresql' else "0") + ")")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('councils', 'id'), 1)")
    for table in TENANT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('council_id', sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET council_id = 1")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('council_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(f'fk_{table}_council', 'councils', ['council_id'], ['id'])
            batch_op.create_index(f'ix_{table}_council_id', ['council_id'])


def downgrade() -> None:
    for table in TENANT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_council_id')
            batch_op.drop_constraint(f'fk_{table}_council', type_='foreignkey')
            batch_op.drop_column('council_id')
    op.drop_table('councils')
