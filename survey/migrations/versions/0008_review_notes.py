"""review_notes: the Caf's private notes on a response

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from survey.models.types import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'review_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('written_at', UTCDateTime(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.CheckConstraint('length(text) > 0', name=op.f('ck_review_notes_note_not_empty')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_review_notes_author_id_users')),
        sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_review_notes_response_id_responses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_notes')),
    )
    with op.batch_alter_table('review_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_notes_response_id'), ['response_id'], unique=False)


def downgrade():
    with op.batch_alter_table('review_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_notes_response_id'))
    op.drop_table('review_notes')
