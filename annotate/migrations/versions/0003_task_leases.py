"""task leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, so no server default is needed: existing tasks simply have no lease, and an
    # in-progress task without one is never expired (it stays with its labeler).
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), server_default=None, nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_lease_expires_at'), ['lease_expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_lease_expires_at'))
        batch_op.drop_column('lease_expires_at')
