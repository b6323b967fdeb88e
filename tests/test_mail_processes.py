"""gunicorn as deployed, two worker processes: their outboxes send by themselves what another process planned, once."""
import asyncio
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import select

from survey import create_app
from survey.db import get_session
from survey.mail.rounds import invitation_round, plan
from survey.models import Campaign, EmailLog, EmailStatus
from tests.conftest import Factory
from tests.smtp import Mailbox, SmtpServer, free_port
from tests.test_deployment import ROOT, stop, wait_for


class SlowMailbox(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.1)  # both workers are at it while the round lasts
        return await super().handle_DATA(server, session, envelope)


def test_two_gunicorn_workers_send_a_round_planned_elsewhere_each_message_once(tmp_path):
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SURVEY_")}
    env.update({"SURVEY_SECRET_KEY": secrets.token_hex(16), "SURVEY_DATABASE_URL": url})
    subprocess.run([sys.executable, "-m", "flask", "--app", "survey", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    # Another process (a command, another node) plans a round and wakes nobody.
    planner = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": url})
    factory = Factory(planner)
    now = datetime.now(UTC)
    campaign = factory.campaign(opens=now - timedelta(days=1), closes=now + timedelta(days=30), code="clas-noeuds")
    addresses = [f"c{number:02d}@one.example" for number in range(45)]
    for start in range(0, 45, 3):
        factory.project(campaign, contacts=addresses[start:start + 3])
    with planner.app_context():
        db = get_session()
        assert plan(db, invitation_round(db.get(Campaign, campaign)), now) == 45

    sink = SmtpServer()
    sink.mailbox = SlowMailbox()
    sink.controller = Controller(sink.mailbox, hostname="127.0.0.1", port=sink.port)
    sink.start()
    port = free_port()
    env.update({"SURVEY_SMTP_HOST": "127.0.0.1", "SURVEY_SMTP_PORT": str(sink.port), "SURVEY_MAIL_PER_SECOND": "0",
                "SURVEY_OUTBOX_POLL_SECONDS": "0.2", "SURVEY_BASE_URL": "http://bilan.test"})
    log = tmp_path / "gunicorn.out"
    with open(log, "wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--workers", "2",
                                   "--threads", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                                  stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(port, server, log)
        # No request: each worker's outbox polls from its start (deploy/gunicorn.conf.py).
        deadline = time.monotonic() + 60
        while len(sink.messages) < 45:
            assert time.monotonic() < deadline, f"{len(sink.messages)} messages only\n{log.read_text()}"
            time.sleep(0.1)
        time.sleep(1)  # nothing more comes
    finally:
        stop(server)
        sink.stop()
    assert sorted(m["To"] for m in sink.messages) == addresses
    # make_msgid() puts the sender's process id in each Message-ID: both workers took part.
    assert len({m["Message-ID"].split(".")[1] for m in sink.messages}) == 2
    with planner.app_context():
        rows = get_session().scalars(select(EmailLog)).all()
        assert {(row.status, row.attempts) for row in rows} == {(EmailStatus.SENT, 1)}
        assert sorted(row.message_id for row in rows) == sorted(m["Message-ID"] for m in sink.messages)
    planner.extensions["db_engine"].dispose()
