"""reviewers, history, corrections

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from survey.models.types import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OLD_SUBMITTED_RULE = (
    "(state = 'submitted' AND submitted_at IS NOT NULL AND receipt IS NOT NULL)"
    " OR (state <> 'submitted' AND submitted_at IS NULL)"
)
SUBMITTED_RULE = (
    "(state IN ('submitted', 'correction_requested') AND submitted_at IS NOT NULL AND receipt IS NOT NULL)"
    " OR (state IN ('not_started', 'in_progress') AND submitted_at IS NULL)"
    " OR state = 'validated'"
)
VALIDATED_RULE = "(state = 'validated') = (validated_at IS NOT NULL)"


def upgrade():
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_address_at', ['address', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_email_at', ['email', 'at'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('reviewer', 'admin', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('caf_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("role = 'admin' OR caf_id IS NOT NULL", name=op.f('ck_users_reviewer_has_caf')),
    sa.ForeignKeyConstraint(['caf_id'], ['cafs.id'], name=op.f('fk_users_caf_id_cafs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_caf_id'), ['caf_id'], unique=False)

    op.create_table('correction_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', UTCDateTime(), nullable=False),
    sa.Column('until', UTCDateTime(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_correction_requests_requested_by_id_users')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_correction_requests_response_id_responses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_requests'))
    )
    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_requests_response_id'), ['response_id'], unique=False)

    op.create_table('response_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('kind', sa.Enum('answer', 'submitted', 'correction_requested', 'validated', 'reopened', 'extended', name='eventkind', native_enum=False, length=30), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=True),
    sa.Column('old_value', sa.JSON(), nullable=True),
    sa.Column('new_value', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_response_events_contact_id_contacts')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_response_events_response_id_responses')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_response_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_events'))
    )
    with op.batch_alter_table('response_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_events_response_id'), ['response_id'], unique=False)

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('validated_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('validated_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('extended_until', UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_responses_validated_by_id_users'), 'users', ['validated_by_id'], ['id'])

    # A validated response may or may not have been transmitted by the partner.
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_responses_submitted_at_iff_submitted'), type_='check')
        batch_op.create_check_constraint(op.f('ck_responses_submitted_at_iff_submitted'), SUBMITTED_RULE)
        batch_op.create_check_constraint(op.f('ck_responses_validated_at_iff_validated'), VALIDATED_RULE)


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_responses_validated_at_iff_validated'), type_='check')
        batch_op.drop_constraint(op.f('ck_responses_submitted_at_iff_submitted'), type_='check')
        batch_op.create_check_constraint(op.f('ck_responses_submitted_at_iff_submitted'), OLD_SUBMITTED_RULE)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_responses_validated_by_id_users'), type_='foreignkey')
        batch_op.drop_column('extended_until')
        batch_op.drop_column('validated_by_id')
        batch_op.drop_column('validated_at')

    with op.batch_alter_table('response_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_events_response_id'))

    op.drop_table('response_events')
    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_requests_response_id'))

    op.drop_table('correction_requests')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_caf_id'))

    op.drop_table('users')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_email_at')
        batch_op.drop_index('ix_login_attempts_address_at')

    op.drop_table('login_attempts')
