"""gunicorn as deployed (deploy/gunicorn.conf.py), two workers: the node's sender process, forked by the master,
sends what another process planned, once; the master starts it again if it dies; it never outlives the master;
it leaves when it has nothing to send, and the master forks it again on a worker's wake or for a poll."""
import asyncio
import http.client
import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import select

from survey import create_app
from survey.db import get_session
from survey.mail.rounds import invitation_round, plan
from survey.mail.sender import PROCESS_NAME
from survey.models import Campaign, EmailLog, EmailStatus
from tests.conftest import Factory, Partner, complete_clas_answers
from tests.smtp import Mailbox, SmtpServer
from tests.test_deployment import node_environment, running_node


class SlowMailbox(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.1)  # both workers are at it while the round lasts
        return await super().handle_DATA(server, session, envelope)


def plan_invitations(planner, factory, campaign, addresses, now):
    """Another process (a command, another node) plans a round and wakes nobody."""
    for start in range(0, len(addresses), 3):
        factory.project(campaign, contacts=addresses[start:start + 3])
    with planner.app_context():
        db = get_session()
        assert plan(db, invitation_round(db.get(Campaign, campaign)), now) == len(addresses)


def senders_of(master: int) -> list[int]:
    """The master's children named as the sender names itself."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_bytes().strip()
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # a process gone meanwhile
                continue
            if comm == PROCESS_NAME and parent == master:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def eventually(condition, what, log, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{log.read_text()}"
        time.sleep(0.1)


def pid_of(message) -> int:
    """make_msgid() puts the sending process's id in each Message-ID."""
    return int(message["Message-ID"].split(".")[1])


def test_the_nodes_sender_sends_a_round_planned_elsewhere_once_comes_back_if_killed_and_stops_with_the_master(tmp_path):
    env = node_environment(tmp_path)
    url = env["SURVEY_DATABASE_URL"]
    planner = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": url})
    factory = Factory(planner)
    now = datetime.now(UTC)
    campaign = factory.campaign(opens=now - timedelta(days=1), closes=now + timedelta(days=30), code="clas-noeuds")
    first = [f"c{number:02d}@one.example" for number in range(45)]
    plan_invitations(planner, factory, campaign, first, now)

    sink = SmtpServer()
    sink.mailbox = SlowMailbox()
    sink.controller = Controller(sink.mailbox, hostname="127.0.0.1", port=sink.port)
    sink.start()
    env.update({"SURVEY_SMTP_HOST": "127.0.0.1", "SURVEY_SMTP_PORT": str(sink.port), "SURVEY_MAIL_PER_SECOND": "0",
                "SURVEY_OUTBOX_POLL_SECONDS": "0.2", "SURVEY_BASE_URL": "http://bilan.test"})
    try:
        with running_node(tmp_path, env, "--workers", "2", "--threads", "1") as (server, _, log):
            eventually(lambda: len(senders_of(server.pid)) == 1, "no sender process", log)
            (sender,) = senders_of(server.pid)
            # No request: the sender polls from its start.
            eventually(lambda: len(sink.messages) == 45, "the round was not sent", log, seconds=60)
            time.sleep(1)  # nothing more comes
            assert sorted(m["To"] for m in sink.messages) == first
            assert {pid_of(m) for m in sink.messages} == {sender}  # neither a worker nor the master

            os.kill(sender, signal.SIGKILL)  # the out-of-memory killer, say
            eventually(lambda: senders_of(server.pid) not in ([], [sender]), "the master did not start a new sender", log)
            (restarted,) = senders_of(server.pid)
            assert "died: started again" in log.read_text()
            second = [f"c{number:02d}@two.example" for number in range(6)]
            plan_invitations(planner, factory, campaign, second, datetime.now(UTC))
            eventually(lambda: len(sink.messages) == 51, "the new sender did not send", log)
            assert {pid_of(m) for m in sink.messages[45:]} == {restarted}

            server.send_signal(signal.SIGTERM)  # to the master alone, as a supervisor that knows only its pid would
            server.wait(30)
            eventually(lambda: not alive(restarted), "the sender outlived the master", log, seconds=5)
    finally:
        sink.stop()
    with planner.app_context():
        rows = get_session().scalars(select(EmailLog)).all()
        assert {(row.status, row.attempts) for row in rows} == {(EmailStatus.SENT, 1)}
        assert sorted(row.message_id for row in rows) == sorted(m["Message-ID"] for m in sink.messages)
    planner.extensions["db_engine"].dispose()


def test_a_sender_whose_master_was_killed_exits_by_itself(tmp_path):
    env = node_environment(tmp_path, SURVEY_OUTBOX_POLL_SECONDS="30")
    with running_node(tmp_path, env, "--workers", "1") as (server, _, log):
        eventually(lambda: len(senders_of(server.pid)) == 1, "no sender process", log)
        (sender,) = senders_of(server.pid)
        server.kill()
        server.wait(10)
        # Polling every 30 s, it still looks at its parent every second.
        eventually(lambda: not alive(sender), "the sender outlived its killed master", log, seconds=5)


def transmit_through_the_node(planner, factory, campaign, port) -> str:
    """A partner answers every page (through ``planner``) and transmits through the node: a worker plans the
    receipt and wakes the sender. Returns the partner's address."""
    _, (token,) = factory.project(campaign, contacts=["partenaire@structure.example"])
    partner = Partner(planner.test_client())
    partner.open(token)
    for number, data in complete_clas_answers().items():
        assert partner.save_page(number, data).status_code in (200, 302)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(method, path, body=None, cookie=""):
        headers = {"Cookie": cookie}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        page = answer.read().decode()
        found = answer.getheader("Set-Cookie")
        return answer.status, page, found.split(";", 1)[0] if found else cookie
    _, _, cookie = request("GET", f"/r/{token}")
    _, summary, cookie = request("GET", "/bilan/recapitulatif", cookie=cookie)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', summary).group(1)
    version = re.search(r'name="version" value="(\d+)"', summary).group(1)
    status, _, _ = request("POST", "/bilan/transmettre", f"csrf_token={csrf}&version={version}&certifie=oui", cookie)
    connection.close()
    assert status == 302
    return "partenaire@structure.example"


def test_a_sender_with_nothing_to_send_leaves_and_a_workers_wake_brings_one_back(tmp_path):
    smtp_server = SmtpServer().start()
    env = node_environment(tmp_path, SURVEY_SMTP_HOST="127.0.0.1", SURVEY_SMTP_PORT=str(smtp_server.port),
                           SURVEY_MAIL_PER_SECOND="0", SURVEY_BASE_URL="http://bilan.test",
                           SURVEY_OUTBOX_POLL_SECONDS="600", SURVEY_MAIL_SENDER_IDLE_SECONDS="1")
    # The planner's pages send nothing of their own: only the node's sender may send the receipt.
    planner = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": env["SURVEY_DATABASE_URL"],
                          "OUTBOX_POLL_SECONDS": 0})
    factory = Factory(planner)
    now = datetime.now(UTC)
    campaign = factory.campaign(opens=now - timedelta(days=1), closes=now + timedelta(days=30), code="clas-veille")
    try:
        check_idle_sender_and_wake(tmp_path, env, planner, factory, campaign, smtp_server)
    finally:
        smtp_server.stop()
    planner.extensions["db_engine"].dispose()


def check_idle_sender_and_wake(tmp_path, env, planner, factory, campaign, smtp_server):
    with running_node(tmp_path, env, "--workers", "1") as (server, port, log):
        eventually(lambda: len(senders_of(server.pid)) == 1, "no sender process", log)
        (first,) = senders_of(server.pid)
        # Nothing to send: gone after a second, and no other one until a wake (the next poll is in 10 minutes).
        eventually(lambda: not alive(first), "the idle sender stayed", log, seconds=10)
        time.sleep(1.5)
        assert senders_of(server.pid) == []
        address = transmit_through_the_node(planner, factory, campaign, port)
        eventually(lambda: len(smtp_server.messages) == 1, "the receipt did not leave", log, seconds=20)
        (receipt,) = smtp_server.messages
        assert receipt["To"] == address and pid_of(receipt) not in (server.pid, first)
        eventually(lambda: senders_of(server.pid) == [], "the second sender stayed once idle", log, seconds=10)
        text = log.read_text()
        assert "died" not in text and "stopped" not in text and "Traceback" not in text


def test_while_no_sender_runs_the_master_forks_one_for_each_poll_and_says_so_once(tmp_path):
    env = node_environment(tmp_path, SURVEY_OUTBOX_POLL_SECONDS="0.3", SURVEY_MAIL_SENDER_IDLE_SECONDS="0.5")
    url = env["SURVEY_DATABASE_URL"]
    planner = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATABASE_URL": url})
    factory = Factory(planner)
    now = datetime.now(UTC)
    campaign = factory.campaign(opens=now - timedelta(days=1), closes=now + timedelta(days=30), code="clas-sondage")
    sink = SmtpServer()
    sink.start()
    env.update({"SURVEY_SMTP_HOST": "127.0.0.1", "SURVEY_SMTP_PORT": str(sink.port), "SURVEY_MAIL_PER_SECOND": "0",
                "SURVEY_BASE_URL": "http://bilan.test"})
    try:
        with running_node(tmp_path, env, "--workers", "1") as (server, _, log):
            time.sleep(3)  # about ten polls, each by a sender that finds nothing and leaves
            addresses = [f"c{number}@sondage.example" for number in range(3)]
            plan_invitations(planner, factory, campaign, addresses, datetime.now(UTC))  # wakes nobody
            eventually(lambda: len(sink.messages) == 3, "a poll did not send the round", log, seconds=20)
            assert sorted(m["To"] for m in sink.messages) == addresses
            assert log.read_text().count("email sender started") == 1  # the polls are not written at info level
    finally:
        sink.stop()
    with planner.app_context():
        assert {row.status for row in get_session().scalars(select(EmailLog))} == {EmailStatus.SENT}
    planner.extensions["db_engine"].dispose()
