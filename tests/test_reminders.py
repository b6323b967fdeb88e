"""Reminders: only to projects not transmitted, per Caf, each round once, on its day."""
from datetime import datetime

from survey.mail.rounds import plan, reminder_round
from survey.models import EmailStatus
from tests.mail_support import (
    CODE,
    DEADLINE,
    LINK,
    UTC,
    campaign_of,
    cli,
    in_app,
    logs,
    set_state,
    text_of,
)


# -- reminders -------------------------------------------------------------------
def test_reminders_skip_transmitted_projects_and_a_caf_reminds_only_its_own(app, smtp, campaign, factory, db, clock):
    transmitted, _ = factory.project(campaign, contacts=("done@one.example",))
    started, _ = factory.project(campaign, contacts=("started@two.example",))
    factory.project(campaign, contacts=("idle@three.example",))
    factory.project(campaign, contacts=("other@four.example",), caf_number="741", caf_name="Caf 741")
    set_state(db, transmitted, "submitted", clock.now)
    set_state(db, started, "in_progress", clock.now)

    result = cli(app, "send-reminders", CODE, "--days-before", "14", "--caf", "731")
    assert result.exit_code == 0, result.output
    assert sorted(m["To"] for m in smtp.messages) == ["idle@three.example", "started@two.example"]
    assert {log.round for log in logs(db)} == {"J-14/731"}
    idle = text_of(smtp.to("idle@three.example")[0])
    assert "n’est pas encore commencé" in idle and DEADLINE in idle and LINK.search(idle)
    assert "Après la date limite, le questionnaire ne sera plus accessible et la prestation de service Clas ne pourra pas être versée." in idle
    assert "est commencé mais n’a pas encore été transmis" in text_of(smtp.to("started@two.example")[0])
    assert smtp.messages[0]["Subject"] == ("Clas 2023-2024 : bilan qualitatif – rappel : bilan à transmettre avant le "
                                           "lundi 15 juillet 2024")
    # The national round the same day does not remind Caf 731's projects again.
    assert cli(app, "send-reminders", CODE, "--days-before", "14").exit_code == 0
    assert [m["To"] for m in smtp.messages][2:] == ["other@four.example"]
    assert cli(app, "send-reminders", CODE, "--days-before", "14").exit_code == 0
    assert len(smtp.messages) == 3


def test_a_reminder_planned_before_a_transmission_is_not_sent(app, smtp, campaign, factory, db, clock):
    response_id, _ = factory.project(campaign, contacts=("a@one.example",))
    in_app(app, lambda db: plan(db, reminder_round(campaign_of(db, campaign), 7), clock.now))
    set_state(db, response_id, "submitted", clock.now)
    result = cli(app, "send-reminders", CODE, "--days-before", "7")
    assert result.exit_code == 0 and "Relances devenues inutiles : 1." in result.output
    assert smtp.messages == []
    (skipped,) = logs(db)
    assert skipped.status is EmailStatus.SKIPPED and "transmis" in skipped.error


def test_no_reminder_once_the_time_to_answer_is_over(app, smtp, campaign, factory, clock):
    factory.project(campaign)
    clock.set(datetime(2024, 7, 16, 8, 0, tzinfo=UTC))
    assert cli(app, "send-reminders", CODE, "--days-before", "0").exit_code == 0
    assert smtp.messages == []


def test_due_reminders_send_each_round_once_on_its_day(app, smtp, campaign, factory, db, clock):
    factory.project(campaign, contacts=("a@one.example",))
    moments = [
        (datetime(2024, 6, 30, 21, 0, tzinfo=UTC), None),       # 30 June, 23:00 in Paris: nothing due yet
        (datetime(2024, 6, 30, 22, 0, tzinfo=UTC), "J-14"),     # 1 July, 00:00 in Paris
        (datetime(2024, 7, 3, 6, 0, tzinfo=UTC), None),
        (datetime(2024, 7, 8, 6, 0, tzinfo=UTC), "J-7"),
        (datetime(2024, 7, 8, 18, 0, tzinfo=UTC), None),
        (datetime(2024, 7, 13, 6, 0, tzinfo=UTC), "J-2"),
        (datetime(2024, 7, 15, 6, 0, tzinfo=UTC), None),
        (datetime(2024, 7, 16, 6, 0, tzinfo=UTC), None),        # after the deadline
    ]
    for moment, expected in moments:
        clock.set(moment)
        before = len(smtp.messages)
        result = cli(app, "send-due-reminders", CODE, "--schedule", "14,7,2")
        assert result.exit_code == 0, result.output
        assert len(smtp.messages) - before == (1 if expected else 0), (moment, result.output)
    assert [log.round for log in logs(db)] == ["J-14", "J-7", "J-2"]


def test_due_reminders_after_missed_runs_send_only_the_latest_round(app, smtp, campaign, factory, db, clock):
    factory.project(campaign, contacts=("a@one.example",))
    clock.set(datetime(2024, 7, 9, 6, 0, tzinfo=UTC))
    result = cli(app, "send-due-reminders", CODE, "--schedule", "14,7,2", "--caf", "731")
    assert result.exit_code == 0, result.output
    assert "Relances dépassées, non envoyées : J-14." in result.output and "Relance J-7/731" in result.output
    assert len(smtp.messages) == 1 and [log.round for log in logs(db)] == ["J-7/731"]


def test_due_reminders_finish_a_crashed_round_without_replanning_it(app, smtp, campaign, factory, db, clock):
    factory.project(campaign, contacts=("a@one.example", "b@one.example"))
    clock.set(datetime(2024, 7, 8, 6, 0, tzinfo=UTC))
    in_app(app, lambda db: plan(db, reminder_round(campaign_of(db, campaign), 7), clock.now))
    result = cli(app, "send-due-reminders", CODE, "--schedule", "7")
    assert result.exit_code == 0 and "Messages planifiés : 0. Envoyés : 2." in result.output
    assert sorted(m["To"] for m in smtp.messages) == ["a@one.example", "b@one.example"]
