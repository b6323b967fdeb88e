"""email log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from survey.models.types import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invitation', 'reminder', 'receipt', 'correction', name='emailkind', native_enum=False, length=20), nullable=False),
    sa.Column('round', sa.String(length=60), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'failed', 'skipped', name='emailstatus', native_enum=False, length=20), nullable=False),
    sa.Column('planned_at', UTCDateTime(), nullable=False),
    sa.Column('attempted_at', UTCDateTime(), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_email_log_sent_at_iff_sent')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_email_log_contact_id_contacts')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_email_log_response_id_responses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_log')),
    sa.UniqueConstraint('kind', 'round', 'contact_id', 'response_id', name='once_per_round')
    )
    with op.batch_alter_table('email_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_log_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_log_response_id'), ['response_id'], unique=False)


def downgrade():
    with op.batch_alter_table('email_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_log_response_id'))
        batch_op.drop_index(batch_op.f('ix_email_log_contact_id'))

    op.drop_table('email_log')
