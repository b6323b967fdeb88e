"""responses.free_text: a bilan's free texts in one column; on PostgreSQL, their French text search
vector stored beside them (once transmitted) under a GIN index, so that a search reads the index and the
stored vectors instead of parsing every bilan

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

FREE_TEXT_KINDS = {'long_text'}  # the kinds whose is_free_text was true when this migration was written
SEPARATOR = "\n\n"


def _free_text_codes(content) -> list:
    content = json.loads(content) if isinstance(content, str) else (content or {})
    return [q.get('code') for page in content.get('pages', []) for q in page.get('questions', [])
            if q.get('kind') in FREE_TEXT_KINDS]


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('free_text', sa.Text(), nullable=True))
    connection = op.get_bind()
    campaigns = sa.table('campaigns', sa.column('id', sa.Integer), sa.column('definition_content', sa.JSON))
    responses = sa.table('responses', sa.column('id', sa.Integer), sa.column('campaign_id', sa.Integer),
                         sa.column('answers', sa.JSON), sa.column('free_text', sa.Text))
    codes_of = {campaign_id: _free_text_codes(content)
                for campaign_id, content in connection.execute(sa.select(campaigns.c.id, campaigns.c.definition_content))}
    last = 0
    while True:  # in batches: never every bilan in memory at once
        rows = connection.execute(sa.select(responses.c.id, responses.c.campaign_id, responses.c.answers)
                                  .where(responses.c.id > last).order_by(responses.c.id).limit(500)).all()
        if not rows:
            break
        for response_id, campaign_id, answers in rows:
            answers = json.loads(answers) if isinstance(answers, str) else (answers or {})
            texts = [answers[code] for code in codes_of.get(campaign_id, []) if isinstance(answers.get(code), str)]
            if texts:
                connection.execute(responses.update().where(responses.c.id == response_id)
                                   .values(free_text=SEPARATOR.join(texts)))
        last = rows[-1][0]
    if connection.dialect.name == 'postgresql':
        # Computed by PostgreSQL itself (so never out of step with free_text), only for transmitted bilans:
        # a partner's draft saves cost no stemming. Not in the models (SQLite has no such column).
        op.execute("ALTER TABLE responses ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
                   "CASE WHEN submitted_at IS NOT NULL THEN to_tsvector('french'::regconfig, COALESCE(free_text, '')) "
                   "END) STORED")
        op.execute("CREATE INDEX ix_responses_search_vector ON responses USING gin (search_vector) "
                   "WHERE submitted_at IS NOT NULL")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX ix_responses_search_vector")
        op.execute("ALTER TABLE responses DROP COLUMN search_vector")
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('free_text')
