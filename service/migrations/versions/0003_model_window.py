"""model window: the extract window a council declares when it trains (required with epsilon)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 14:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Models trained before windows were declared read theirs off the data: they stay NULL.
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('window_end', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.drop_column('window_end')
        batch_op.drop_column('window_start')
