"""Shared by the email tests: a real SMTP server fixture, a campaign, helpers."""
import re
from datetime import UTC

import pytest
from sqlalchemy import func, select

from survey.db import get_session
from survey.models import EmailLog, Response
from survey.questionnaires import response_definition
from tests.smtp import SmtpServer

UTC = UTC
CODE = "clas-2023-2024"
DEADLINE = "lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de Paris"
LINK = re.compile(r"http://bilan\.test/r/([A-Za-z0-9_-]+)")


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free port of 127.0.0.1, and the app pointed at it."""
    server = SmtpServer().start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=5, MAIL_PER_SECOND=1000,
                      BASE_URL="http://bilan.test", MAIL_FROM="bilan-clas@caf.example")
    yield server
    server.stop()


@pytest.fixture
def campaign(factory):
    return factory.campaign(code=CODE)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def text_of(message) -> str:
    """The plain-text part, its lines joined (wrapping is no concern of the tests; no-break spaces are kept)."""
    return joined_lines(message.get_body(("plain",)).get_content())


def html_of(message) -> str:
    return joined_lines(message.get_body(("html",)).get_content())


def joined_lines(text: str) -> str:
    """``text`` with each run of spaces and line breaks made one space (a no-break space stays one)."""
    return " ".join(re.split(r"[ \t\r\n]+", text)).strip()


def logs(db, **where):
    db.expire_all()
    query = select(EmailLog).order_by(EmailLog.id)
    for name, value in where.items():
        query = query.where(getattr(EmailLog, name) == value)
    return db.scalars(query).all()


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def in_app(app, operation):
    """Run ``operation(db)`` as a command or a view would, in an application context."""
    with app.app_context():
        return operation(get_session())


def campaign_of(db, campaign_id):
    from survey.models import Campaign
    return db.get(Campaign, campaign_id)


def set_state(db, response_id, state, now):
    """Move a response along without the web journey: transmitted or started."""
    response = db.get(Response, response_id)
    if state == "submitted":
        response.mark_submitted(now, f"BQ-T{response_id:05d}")
    else:
        response.record_edit({**response.answers, "lieu_action": "Salle des fêtes"}, {}, now,
                             response_definition(response).free_text_codes)
    db.commit()
