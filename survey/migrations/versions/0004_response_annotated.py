"""responses.annotated: whether the partner's pages have a Caf change or a carried-over answer to flag

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('annotated', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE responses SET annotated = TRUE WHERE id IN (SELECT response_id FROM response_events "
        "WHERE kind = 'carried_over' OR (kind = 'answer' AND user_id IS NOT NULL))"
    )


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('annotated')
