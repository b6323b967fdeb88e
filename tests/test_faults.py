"""Faults: a worker killed in the middle of a save, the database restarted under a running app."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.models import Response, ResponseEvent

ROOT = Path(__file__).parent.parent


def run_worker_and_kill(database_url, token, tmp_path, when):
    signal_file = tmp_path / f"frozen-{when}"
    worker = subprocess.Popen([sys.executable, "-m", "tests.fault_worker", database_url, token, str(signal_file), when],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not signal_file.exists():
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, "the worker never reached its freezing point"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)


@pytest.mark.parametrize("when, saved", [("before-commit", False), ("after-commit", True)])
def test_a_worker_killed_during_a_save_leaves_the_response_whole(factory, partner_for, db, database_url, tmp_path,
                                                                  when, saved):
    response_id, (token,) = factory.project(factory.campaign())
    partner_for(token).save_page(2, {"lieu_action": "Avant", "voie": "rue Avant"})
    before = db.get(Response, response_id)
    version, answers = before.version, dict(before.answers)
    run_worker_and_kill(database_url, token, tmp_path, when)
    db.expire_all()
    db.rollback()
    after = db.get(Response, response_id)
    events = db.scalars(select(ResponseEvent).where(ResponseEvent.response_id == response_id,
                                                    ResponseEvent.code == "voie")).all()
    if saved:
        assert after.answers["lieu_action"] == "Écrit par le worker" and after.answers["voie"] == "rue du Crash"
        assert after.version == version + 1 and len(events) == 2
    else:
        assert after.answers == answers and after.version == version and len(events) == 1
    # The response stays usable afterwards.
    assert partner_for(token).save_page(2, {"lieu_action": "Après"}).status_code == 302


@pytest.mark.skipif(os.environ.get("SURVEY_FAULT_PG_RESTART") != "1",
                    reason="restarts the PostgreSQL server: CI sets SURVEY_FAULT_PG_RESTART=1 on its PostgreSQL run")
def test_postgresql_restarted_under_the_running_application(factory, partner_for, database_url):
    assert database_url.startswith("postgresql"), "this fault test needs SURVEY_TEST_DATABASE_URL on PostgreSQL"
    _, (token,) = factory.project(factory.campaign())
    partner = partner_for(token)
    assert partner.get("/bilan/page/2").status_code == 200
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect", os.listdir("/etc/postgresql")[0], "main"]
    subprocess.run([*cluster, "stop", "--force"], check=True, timeout=60)
    try:
        down = partner.get("/bilan/page/2")
        assert down.status_code == 503
        assert "Service momentanément indisponible" in down.get_data(as_text=True)
    finally:
        subprocess.run([*cluster, "start"], check=True, timeout=60)
    for _ in range(60):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0:
            break
        time.sleep(0.5)
    # Same application object, no restart: it works again.
    again = partner.get("/bilan/page/2")
    assert again.status_code == 200 and "Étape 2 sur 8" in again.get_data(as_text=True)
    assert partner.save_page(2, {"lieu_action": "Après redémarrage"}).status_code == 302
