"""audit and escalation

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Server defaults so existing projects keep today's behaviour: every submit is reviewed,
    # and the third rejection escalates to a manager. The new task state ``escalated`` and the
    # actions ``auto_accept`` / ``escalate`` fit the existing String(20) columns.
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_rate', sa.Float(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('max_review_rounds', sa.Integer(), server_default='3', nullable=False))


def downgrade():
    # Escalated tasks have no state to go back to: they return to review.
    op.execute("UPDATE tasks SET state = 'submitted' WHERE state = 'escalated'")
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('max_review_rounds')
        batch_op.drop_column('review_rate')
