"""Senders of the email log: finding the next row to send behind a history of sent ones, and senders at once.

    .venv/bin/python -m bench.mail_senders [--database postgresql|sqlite] [--sent 60000] [--pending 30000]
                                           [--projects 600]

A campaign of ``--projects`` projects (one contact each); the log holds ``--sent`` rows
already sent and ``--pending`` invitations pending (bulk-loaded). Measured:
the search for the next row as each sender runs it (milliseconds, with its
lock, without the claim); then an invitation to each project sent by one sender and by two
at once to a local SMTP sink (messages a second, distinct Message-IDs).
"""
import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, text

from .common import machine
from .prepare import campaign_with_projects, empty_database


def send_all(app, now):
    from survey.db import get_session
    from survey.mail.delivery import deliver_due
    with app.app_context():
        deliver_due(get_session(), now)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--sent", type=int, default=60000)
    parser.add_argument("--pending", type=int, default=30000)
    parser.add_argument("--projects", type=int, default=600)
    args = parser.parse_args(argv)
    from survey import create_app
    from survey.db import get_session
    from survey.mail.delivery import _due_groups, _due_statuses, _next_due, resend_cutoff
    from survey.mail.rounds import invitation_round, plan
    from survey.models import Campaign, Contact, EmailKind, EmailLog, EmailStatus, Response
    from survey.models.types import utcnow
    from tests.smtp import SmtpServer

    url = empty_database(args.database, tempfile.mkdtemp(prefix="bench-mail-"), "clas_bench_mail")
    campaign_with_projects(url, args.projects)
    sink = SmtpServer().start()
    now = datetime.now(UTC)
    app = create_app({"DATABASE_URL": url, "ENV": "development", "SECRET_KEY": "bench", "SMTP_HOST": "127.0.0.1",
                      "SMTP_PORT": sink.port, "MAIL_PER_SECOND": 0, "BASE_URL": "http://bench.test"})
    print(f"Email senders on {machine()}, {args.database}")
    with app.app_context():
        db = get_session()
        contact_id, response_id = db.execute(select(Contact.id, Response.id).join(
            Response, Response.project_id == Contact.project_id).limit(1)).one()
        for start in range(0, args.sent + args.pending, 5000):
            db.execute(insert(EmailLog), [
                {"kind": EmailKind.INVITATION, "round": f"ancienne-{i}", "contact_id": contact_id,
                 "response_id": response_id, "planned_at": now, "attempts": int(i < args.sent),
                 "status": EmailStatus.SENT if i < args.sent else EmailStatus.PENDING,
                 "sent_at": now if i < args.sent else None}
                for i in range(start, min(start + 5000, args.sent + args.pending))])
        db.commit()
        if args.database == "postgresql":
            db.execute(text("ANALYZE email_log"))
            db.commit()
        groups = _due_groups(False, resend_cutoff(), utcnow())
        for label, keep_place in (("each search from the first id", False), ("past the last id taken", True)):
            after, took = {}, []
            for _ in range(50):
                started = time.perf_counter()
                _next_due(db, groups, (), after if keep_place else {}, _due_statuses(False))
                took.append(time.perf_counter() - started)
                db.rollback()
            print(f"next row behind {args.sent:,} sent and {args.pending:,} pending, {label}: "
                  f"{sorted(took)[25] * 1000:.2f} ms (median of 50)")
        db.execute(delete(EmailLog))
        db.commit()
    for senders in (1, 2):
        with app.app_context():
            db = get_session()
            db.execute(delete(EmailLog))
            db.commit()
            plan(db, invitation_round(db.scalar(select(Campaign))), now)
        sink.clear()
        started = time.perf_counter()
        threads = [threading.Thread(target=send_all, args=(app, now)) for _ in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        ids = [message["Message-ID"] for message in sink.messages]
        print(f"{senders} sender{'s' if senders > 1 else ''}: {len(ids)} invitations ({len(set(ids))} distinct) "
              f"in {seconds:.2f} s, {len(ids) / seconds:.0f}/s")
    sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
