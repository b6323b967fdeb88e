"""A server process whose outbox sends what the database holds pending, to be killed in the middle of an exchange.

Usage: python -m tests.mail_worker DATABASE_URL SMTP_PORT
Its first request starts the outbox's polling, as in a server process; then
it waits to be killed.
"""
import sys
import time
from datetime import UTC, datetime

from survey import create_app


def main(url, smtp_port):
    app = create_app({"ENV": "testing", "SECRET_KEY": "fault", "DATABASE_URL": url, "SESSION_COOKIE_SECURE": False,
                      "FROZEN_NOW": datetime(2024, 7, 1, 8, 0, tzinfo=UTC),
                      "SMTP_HOST": "127.0.0.1", "SMTP_PORT": int(smtp_port), "SMTP_TIMEOUT": 120,
                      "BASE_URL": "http://bilan.test", "MAIL_FROM": "bilan-clas@caf.example",
                      "OUTBOX_POLL_SECONDS": 0.1})
    app.test_client().get("/")
    time.sleep(120)


if __name__ == "__main__":
    main(*sys.argv[1:])
