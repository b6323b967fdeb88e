"""Caf settings (contact, own window per campaign), and what the purge of personal data needs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from survey.models.types import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DEPARTMENT_ZONES = {"971": "America/Guadeloupe", "972": "America/Martinique", "973": "America/Cayenne",
                    "974": "Indian/Reunion", "976": "Indian/Mayotte", "975": "America/Miquelon"}


def upgrade():
    with op.batch_alter_table('cafs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('contact_address', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('contact_hours', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('contact_note', sa.Text(), nullable=True))
    # Overseas Cafs created before they could have a zone: their department's.
    for number, zone in DEPARTMENT_ZONES.items():
        op.execute(sa.text("UPDATE cafs SET timezone = :zone WHERE number LIKE :prefix AND timezone = 'Europe/Paris'")
                   .bindparams(zone=zone, prefix=f"{number}%"))
    op.create_table('caf_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caf_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('opens_at', UTCDateTime(), nullable=False),
    sa.Column('closes_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('opens_at < closes_at', name=op.f('ck_caf_windows_window_opens_before_closing')),
    sa.ForeignKeyConstraint(['caf_id'], ['cafs.id'], name=op.f('fk_caf_windows_caf_id_cafs')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_caf_windows_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caf_windows')),
    sa.UniqueConstraint('caf_id', 'campaign_id', name='one_window_per_caf_and_campaign')
    )
    with op.batch_alter_table('caf_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caf_windows_caf_id'), ['caf_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_caf_windows_campaign_id'), ['campaign_id'], unique=False)
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_sign_in_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('purged_at', UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
        batch_op.drop_column('last_sign_in_at')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
    with op.batch_alter_table('caf_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caf_windows_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_caf_windows_caf_id'))
    op.drop_table('caf_windows')
    with op.batch_alter_table('cafs', schema=None) as batch_op:
        for column in ('contact_note', 'contact_hours', 'contact_address', 'contact_phone', 'contact_email'):
            batch_op.drop_column(column)
