"""A worker process that saves a page and freezes inside the transaction, to be killed.

Usage: python -m tests.fault_worker DATABASE_URL TOKEN SIGNAL_FILE WHEN
WHEN is "before-commit" (killed mid-save) or "after-commit" (killed once saved).
"""
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from survey import create_app


def main(url, token, signal_file, when):
    app = create_app({"ENV": "testing", "SECRET_KEY": "fault", "DATABASE_URL": url, "SESSION_COOKIE_SECURE": False,
                      "FROZEN_NOW": datetime(2024, 7, 1, 8, 0, tzinfo=UTC)})
    client = app.test_client()
    client.get(f"/r/{token}")
    page = client.get("/bilan/page/2").get_data(as_text=True)
    hidden = {name: re.search(rf'name="{name}" value="([^"]+)"', page).group(1) for name in ("csrf_token", "version")}

    def freeze(session):
        Path(signal_file).write_text("frozen")
        time.sleep(120)

    if when == "before-commit":
        event.listen(Session, "before_commit", freeze)
    client.post("/bilan/page/2", data={**hidden, "lieu_action": "Écrit par le worker", "voie": "rue du Crash"})
    if when == "after-commit":
        freeze(None)


if __name__ == "__main__":
    main(*sys.argv[1:])
