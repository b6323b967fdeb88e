"""The schema is built by the migrations, and they match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey.db import Base


def test_migrations_match_the_models(migrated_engine):
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_schema_is_at_the_latest_revision(migrated_engine):
    from alembic.script import ScriptDirectory

    from survey.migrate import alembic_config
    head = ScriptDirectory.from_config(alembic_config(str(migrated_engine.url))).get_current_head()
    with migrated_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
