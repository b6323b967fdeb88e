"""Fast set-up of benchmark databases: schema by migrations, projects with links, bulk responses."""
import secrets
import subprocess
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from survey.access import hash_token
from survey.db import Base, build_engine
from survey.engine.answers import prefilled_answers
from survey.engine.definition import build_definition
from survey.migrate import upgrade
from survey.models import AccessLink, Caf, Campaign, Contact, Project, Response
from survey.models.response import joined_free_texts, without_long_texts

from .common import CLAS

PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/clas_bench"


def ensure_pg_database(name="clas_bench"):
    exists = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                             f"SELECT 1 FROM pg_database WHERE datname='{name}'"], capture_output=True, text=True)
    if exists.stdout.strip() != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


def empty_database(database: str, workdir: str, name: str = "clas_bench") -> str:
    """The URL of an empty, migrated benchmark database: ``name`` on PostgreSQL, or a SQLite file in ``workdir``."""
    if database == "postgresql":
        ensure_pg_database(name)
        url = PG_BENCH.replace("/clas_bench", f"/{name}")
    else:
        url = f"sqlite:///{workdir}/bench.sqlite3"
    fresh_schema(url)
    return url


def fresh_schema(url: str):
    """Drop everything and rebuild the schema with the migrations."""
    engine = build_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    upgrade(url)


def campaign_with_projects(url: str, count: int, answers_for=None, state="not_started") -> list[str]:
    """A campaign open for 30 days with ``count`` projects, one contact and one link each; returns tokens.

    With ``answers_for(i) -> dict``, responses are created already answered in ``state`` (bulk loader).
    """
    engine = build_engine(url)
    definition = build_definition(CLAS)
    now = datetime.now(UTC)
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    with engine.begin() as db:
        caf_ids = []
        for number, name in (("731", "Caf de la Savoie"), ("741", "Caf de la Haute-Savoie")):
            caf_ids.append(db.execute(insert(Caf).values(number=number, name=name, timezone="Europe/Paris")
                                      .returning(Caf.id)).scalar_one())
        campaign_id = db.execute(insert(Campaign).values(
            code=f"bench-{secrets.token_hex(3)}", title="Clas 2023-2024 : bilan qualitatif", definition_code=CLAS["code"],
            definition_version=CLAS["version"], definition_content=CLAS, opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30)).returning(Campaign.id)).scalar_one()
        batch = 2000
        for start in range(0, count, batch):
            chunk = range(start, min(count, start + batch))
            projects = [{"reference": f"B-{i:06d}", "caf_id": caf_ids[i % 2], "structure_name": f"Structure {i}",
                         "siret": "77567227200017", "commune": "Chambéry"} for i in chunk]
            project_ids = db.execute(insert(Project).returning(Project.id, sort_by_parameter_order=True), projects).scalars().all()
            contacts = db.execute(insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                                  [{"project_id": pid, "email": f"c{pid}@bench.example"} for pid in project_ids]).scalars().all()
            rows = []
            for i, pid in zip(chunk, project_ids, strict=True):
                context = {"structure_name": f"Structure {i}", "siret": "77567227200017", "siren": "775672272",
                           "caf_name": "Caf", "caf_number": "731", "commune": "Chambéry"}
                answers = answers_for(i) if answers_for else prefilled_answers(definition, context)
                row = {"campaign_id": campaign_id, "project_id": pid, "state": state, "definition_version": 1,
                       "answers": answers, "short_answers": without_long_texts(answers), "invalid": {}, "version": 1,
                       "free_text": joined_free_texts(answers, definition.free_text_codes)}
                if state != "not_started":
                    row.update(started_at=now, updated_at=now)
                if state == "submitted":
                    row.update(submitted_at=now, receipt=f"BQ-{i:010d}")
                rows.append(row)
            response_ids = db.execute(insert(Response).returning(Response.id, sort_by_parameter_order=True), rows).scalars().all()
            db.execute(insert(AccessLink), [{"token_hash": hash_token(tokens[i]), "contact_id": cid, "response_id": rid,
                                             "created_at": now} for i, cid, rid in zip(chunk, contacts, response_ids, strict=True)])
    engine.dispose()
    return tokens
