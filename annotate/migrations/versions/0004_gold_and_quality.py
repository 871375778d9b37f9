"""gold and quality

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('gold_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('document', JSON, nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revision_id'], ['annotation_revisions.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id')
    )
    with op.batch_alter_table('gold_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gold_items_project_id'), ['project_id'], unique=False)

    op.create_table('gold_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('gold_item_id', sa.Integer(), nullable=False),
    sa.Column('labeler_id', sa.Integer(), nullable=False),
    sa.Column('copy_item_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('document', JSON, nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('active_seconds', sa.Float(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['gold_item_id'], ['gold_items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['labeler_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['copy_item_id'], ['items.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('copy_item_id'),
    sa.UniqueConstraint('gold_item_id', 'labeler_id', name='uq_gold_answer_gold_labeler')
    )
    with op.batch_alter_table('gold_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gold_answers_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gold_answers_gold_item_id'), ['gold_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gold_answers_labeler_id'), ['labeler_id'], unique=False)

    op.create_table('labeler_pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('paused', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'user_id', name='uq_labeler_pause_project_user')
    )
    with op.batch_alter_table('labeler_pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labeler_pauses_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_labeler_pauses_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.create_index('ix_task_events_actor_action', ['actor_id', 'action'], unique=False)

    # Server defaults so existing projects get the documented defaults.
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gold_rate', sa.Float(), server_default='0.1', nullable=False))
        batch_op.add_column(sa.Column('quality_threshold', sa.Float(), server_default='0.6', nullable=False))
        batch_op.add_column(sa.Column('auto_pause', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('auto_pause')
        batch_op.drop_column('quality_threshold')
        batch_op.drop_column('gold_rate')

    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.drop_index('ix_task_events_actor_action')

    with op.batch_alter_table('labeler_pauses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labeler_pauses_user_id'))
        batch_op.drop_index(batch_op.f('ix_labeler_pauses_project_id'))
    op.drop_table('labeler_pauses')

    with op.batch_alter_table('gold_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gold_answers_labeler_id'))
        batch_op.drop_index(batch_op.f('ix_gold_answers_gold_item_id'))
        batch_op.drop_index(batch_op.f('ix_gold_answers_project_id'))
    op.drop_table('gold_answers')

    with op.batch_alter_table('gold_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gold_items_project_id'))
    op.drop_table('gold_items')
