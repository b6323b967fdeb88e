"""At national scale: every Caf page, and planning a reminder round, run as many SQL statements with 3 times the data."""
from datetime import UTC, datetime

from sqlalchemy import event, select

from bench.caf import load, pages, statements_per_request
from survey import create_app
from survey.db import get_session
from survey.mail.rounds import plan, reminder_round
from survey.models import Campaign
from tests.conftest import _empty_tables


def test_no_caf_page_runs_more_statements_with_more_data(database_url, migrated_engine, tmp_path):
    env = {"SURVEY_SECRET_KEY": "test-secret", "SURVEY_UPLOAD_DIR": str(tmp_path / "uploads")}
    counts = []
    for size in (60, 180):
        _empty_tables(migrated_engine)
        data = load(database_url, size, campaigns=3)
        counts.append(statements_per_request(database_url, env, data))
    _empty_tables(migrated_engine)
    small, large = counts
    assert set(small) == {name for name, *_ in pages(data)}
    assert {name: large[name] for name in small if large[name] != small[name]} == {}, (small, large)


def test_planning_reminders_runs_as_many_statements_for_three_times_the_projects(database_url, migrated_engine, tmp_path):
    app = create_app({"ENV": "testing", "SECRET_KEY": "test-secret", "DATABASE_URL": database_url,
                      "UPLOAD_DIR": str(tmp_path)})
    counted, planned = [], []
    event.listen(app.extensions["db_engine"], "before_cursor_execute", lambda *args: counted.append(1))
    for size in (60, 180):
        _empty_tables(migrated_engine)
        load(database_url, size, campaigns=3)
        with app.app_context():
            db = get_session()
            campaign = db.scalars(select(Campaign).order_by(Campaign.id.desc())).first()
            counted.clear()
            # The projects asked for a correction are among them: their delay is read for each.
            planned.append((plan(db, reminder_round(campaign, 7), datetime.now(UTC)), len(counted)))
    app.extensions["db_engine"].dispose()
    _empty_tables(migrated_engine)
    (few, small), (many, large) = planned
    assert many > 2 * few > 0
    assert large == small
