"""workflows as data, overlap and pinned review comments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 13:00:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
# SQLite's batch mode must name the unnamed unique constraint of 0001 to drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
# The tasks "next task" may serve: partial indexes keep finished work out of its way.
POOL = "assignee_id IS NULL AND state IN ('new', 'rejected')"


def _workflow(review_rate, max_rounds):
    stages = [{"kind": "annotate", "name": "annotate", "roles": ["labeler", "manager", "admin"], "overlap": 1}]
    stages.append({"kind": "review", "name": "review", "roles": ["reviewer", "manager", "admin"],
                   "rate": float(review_rate), "max_rounds": int(max_rounds)})
    stages.append({"kind": "accept", "name": "accept"})
    return {"version": 1, "stages": stages}


def _old_unique_name(table, columns):
    # PostgreSQL named 0001's unnamed constraints itself (tasks_item_id_key); SQLite has no names.
    if op.get_bind().dialect.name == 'sqlite':
        return None
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints(table):
        if constraint['column_names'] == columns:
            return constraint['name']
    return None


def upgrade():
    # Each project's review settings become the review stage of its workflow.
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workflow', JSON, nullable=True))
    projects = sa.table('projects', sa.column('id', sa.Integer), sa.column('review_rate', sa.Float),
                        sa.column('max_review_rounds', sa.Integer), sa.column('workflow', JSON))
    bind = op.get_bind()
    for pid, rate, rounds in bind.execute(sa.select(projects.c.id, projects.c.review_rate, projects.c.max_review_rounds)).all():
        bind.execute(projects.update().where(projects.c.id == pid).values(workflow=_workflow(rate, rounds)))
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.alter_column('workflow', existing_type=JSON, nullable=False)
        batch_op.drop_column('max_review_rounds')
        batch_op.drop_column('review_rate')

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overlap', sa.Integer(), nullable=True))

    old_task_unique = _old_unique_name('tasks', ['item_id'])
    with op.batch_alter_table('tasks', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column('replica', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint(old_task_unique or 'uq_tasks_item_id', type_='unique')
        batch_op.create_unique_constraint('uq_task_item_replica', ['item_id', 'replica'])
        batch_op.create_index(batch_op.f('ix_tasks_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_tasks_pool', ['project_id', 'item_id', 'replica'], unique=False,
                              postgresql_where=sa.text(POOL), sqlite_where=sa.text(POOL))
        batch_op.create_index('ix_tasks_answers', ['item_id'], unique=False,
                              postgresql_where=sa.text('replica > 0'), sqlite_where=sa.text('replica > 0'))

    with op.batch_alter_table('annotation_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint('uq_revision_item_number', type_='unique')
        batch_op.create_unique_constraint('uq_revision_item_line_number', ['item_id', 'line', 'number'])

    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin', JSON, nullable=True))


def downgrade():
    # Answers of overlapping labelers have no place in the old schema: they are dropped, and
    # the item tasks they belonged to keep their state.
    op.execute("DELETE FROM annotation_revisions WHERE line <> 0")
    op.execute("DELETE FROM tasks WHERE replica <> 0")
    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.drop_column('pin')
    with op.batch_alter_table('annotation_revisions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_revision_item_line_number', type_='unique')
        batch_op.create_unique_constraint('uq_revision_item_number', ['item_id', 'number'])
        batch_op.drop_column('line')
    with op.batch_alter_table('tasks', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_index('ix_tasks_answers')
        batch_op.drop_index('ix_tasks_pool')
        batch_op.drop_index(batch_op.f('ix_tasks_item_id'))
        batch_op.drop_constraint('uq_task_item_replica', type_='unique')
        batch_op.create_unique_constraint('uq_tasks_item_id', ['item_id'])
        batch_op.drop_column('replica')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('overlap')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_rate', sa.Float(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('max_review_rounds', sa.Integer(), server_default='3', nullable=False))
    projects = sa.table('projects', sa.column('id', sa.Integer), sa.column('review_rate', sa.Float),
                        sa.column('max_review_rounds', sa.Integer), sa.column('workflow', JSON))
    bind = op.get_bind()
    for pid, workflow in bind.execute(sa.select(projects.c.id, projects.c.workflow)).all():
        if isinstance(workflow, str):
            workflow = json.loads(workflow)
        review = next((s for s in workflow["stages"] if s["kind"] == "review"), {"rate": 0.0, "max_rounds": 0})
        bind.execute(projects.update().where(projects.c.id == pid).values(
            review_rate=review.get("rate", 1.0), max_review_rounds=review.get("max_rounds", 3)))
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('workflow')
