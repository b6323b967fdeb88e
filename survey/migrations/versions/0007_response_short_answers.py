"""responses.short_answers: the answers without their long free texts, for the dashboard's counts;
an index of the transmissions for its timeline

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LONG_TEXT = 200  # as survey.models.response.LONG_TEXT when this migration was written


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_answers', sa.JSON(), server_default='{}', nullable=False))
    op.create_index('ix_response_events_submitted', 'response_events', ['response_id', 'at'],
                    postgresql_where=sa.text("kind = 'submitted'"), sqlite_where=sa.text("kind = 'submitted'"))
    connection = op.get_bind()
    responses = sa.table('responses', sa.column('id', sa.Integer), sa.column('answers', sa.JSON),
                         sa.column('short_answers', sa.JSON))
    last = 0
    while True:  # in batches: never every bilan in memory at once
        rows = connection.execute(sa.select(responses.c.id, responses.c.answers).where(responses.c.id > last)
                                  .order_by(responses.c.id).limit(500)).all()
        if not rows:
            break
        for response_id, answers in rows:
            answers = json.loads(answers) if isinstance(answers, str) else (answers or {})
            short = {code: value for code, value in answers.items()
                     if not (isinstance(value, str) and len(value) > LONG_TEXT)}
            connection.execute(responses.update().where(responses.c.id == response_id).values(short_answers=short))
        last = rows[-1][0]


def downgrade():
    op.drop_index('ix_response_events_submitted', table_name='response_events')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('short_answers')
