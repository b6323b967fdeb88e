"""email_attempts: count each claim of an email, and find the next to send by status and kind

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('email_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_email_log_attempts_not_negative'), 'attempts >= 0')
        batch_op.create_index('ix_email_log_status_kind_id', ['status', 'kind', 'id'], unique=False)
    # Rows sent or tried before this migration were claimed once.
    op.execute("UPDATE email_log SET attempts = 1 WHERE status IN ('sending', 'sent', 'failed')")


def downgrade():
    with op.batch_alter_table('email_log', schema=None) as batch_op:
        batch_op.drop_index('ix_email_log_status_kind_id')
        batch_op.drop_constraint(op.f('ck_email_log_attempts_not_negative'), type_='check')
        batch_op.drop_column('attempts')
