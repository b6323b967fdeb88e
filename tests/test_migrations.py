"""The schema is built by the migrations, and they match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey.db import Base

# PostgreSQL's own: the search vector it computes from responses.free_text, and its index (migration 0010).
POSTGRESQL_ONLY = {"search_vector", "ix_responses_search_vector"}


def _mapped(_object, name, _type, reflected, compare_to):
    return not (reflected and compare_to is None and name in POSTGRESQL_ONLY)


def test_migrations_match_the_models(migrated_engine):
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _mapped})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_schema_is_at_the_latest_revision(migrated_engine):
    from alembic.script import ScriptDirectory

    from survey.migrate import alembic_config
    head = ScriptDirectory.from_config(alembic_config(str(migrated_engine.url))).get_current_head()
    with migrated_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head


def test_0004_flags_the_responses_that_already_have_caf_changes_or_carried_answers(tmp_path):
    from sqlalchemy import create_engine, text

    from survey.migrate import upgrade
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    upgrade(url, "0003")
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(text("INSERT INTO cafs (id, number, name, timezone) VALUES (1, '731', 'Caf', 'Europe/Paris')"))
        db.execute(text("INSERT INTO campaigns (id, code, title, definition_code, definition_version, definition_content, "
                        "opens_at, closes_at) VALUES (1, 'c', 'C', 'd', 1, '{}', '2024-01-01', '2024-12-31')"))
        db.execute(text("INSERT INTO users (id, email, name, password_hash, role, caf_id, created_at, active) "
                        "VALUES (1, 'r@caf.example', 'R', 'x', 'reviewer', 1, '2024-01-01', 1)"))
        for number in (1, 2, 3):
            db.execute(text("INSERT INTO projects (id, reference, caf_id, structure_name) VALUES (:n, :r, 1, 'S')"),
                       {"n": number, "r": f"P{number}"})
            db.execute(text("INSERT INTO responses (id, campaign_id, project_id, state, definition_version, answers, "
                            "invalid, version) VALUES (:n, 1, :n, 'in_progress', 1, '{}', '{}', 1)"), {"n": number})
        events = [(1, "answer", 1), (2, "carried_over", None), (3, "answer", None)]  # by the Caf, carried, by the partner
        for response_id, kind, user_id in events:
            db.execute(text("INSERT INTO response_events (response_id, at, kind, code, user_id) "
                            "VALUES (:r, '2024-07-01', :k, 'q', :u)"), {"r": response_id, "k": kind, "u": user_id})
    upgrade(url)
    with engine.connect() as db:
        flags = dict(db.execute(text("SELECT id, annotated FROM responses ORDER BY id")).all())
    engine.dispose()
    assert flags == {1: True, 2: True, 3: False}
