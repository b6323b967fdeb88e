"""Each Caf's own calendar in the one deadline rule: its zone, its own closing, its reminders' days."""
import html
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from survey.db import get_session
from survey.models import Caf, Contact, EmailKind, Project, Response
from survey.operations import issue_link
from tests.mail_support import CODE, cli, logs
from tests.test_import import run

UTC = UTC
# 15 July 2024 at 23:59:59 in La Réunion (UTC+4), and in Paris (UTC+2).
REUNION_CLOSES = datetime(2024, 7, 15, 19, 59, 59, tzinfo=UTC)
PARIS_CLOSES = datetime(2024, 7, 15, 21, 59, 59, tzinfo=UTC)


def body(response):
    return html.unescape(response.get_data(as_text=True))


def link_for(app, reference):
    """A personal link for the first contact of an imported project."""
    with app.app_context():
        db = get_session()
        project = db.scalar(select(Project).where(Project.reference == reference))
        response = db.scalar(select(Response).where(Response.project_id == project.id))
        token = issue_link(db, db.scalar(select(Contact).where(Contact.project_id == project.id)), response)
        db.commit()
        return token


@pytest.mark.parametrize("own_window", [False, True], ids=["campaign's closing", "the Caf's own closing"])
def test_an_overseas_partner_imported_from_csv_sees_and_is_held_to_2359_in_their_zone(
        app, campaign, factory, partner_for, clock, db, own_window):
    # The campaign closes on "15 July 2024 at 23:59": for an overseas Caf, 23:59 in its own zone.
    factory.project(campaign, caf_number="731")
    data = ("reference;structure;siret;caf;caf_nom;emails\r\n"
            "CLAS-974-1;Asso de Saint-Denis;77567227200017;974;Caf de La Réunion;a@asso.re\r\n"
            "CLAS-73-9;Asso de Chambéry;77567227200017;731;;b@asso.example\r\n")
    assert run(app, "import-projects", CODE, data=data).exit_code == 0
    assert db.scalar(select(Caf).where(Caf.number == "974")).timezone == "Indian/Reunion"
    if own_window:
        window = cli(app, "set-caf-window", CODE, "974", "--closes", "2024-07-15 23:59:59")
        assert window.exit_code == 0, window.output
    reunion, paris = partner_for(link_for(app, "CLAS-974-1")), partner_for(link_for(app, "CLAS-73-9"))
    assert "Date limite de transmission lundi 15 juillet 2024 à 23 h 59, heure de La Réunion" in " ".join(  # split(): no-break spaces too
        body(reunion.get("/bilan")).replace("</dt><dd>", " ").split())
    clock.set(REUNION_CLOSES)
    assert reunion.save_page(2, {"lieu_action": "À 23 h 59 à Saint-Denis"}).status_code == 302
    reunion.get("/bilan/page/2")
    clock.set(REUNION_CLOSES + timedelta(seconds=1))
    late = reunion.save_page(2, {"lieu_action": "Trop tard"}, reload=False)
    assert late.status_code == 409
    assert "fermé depuis le lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de La Réunion" in body(late)
    # The same instant, 22:00 in Paris: the Caf de la Savoie's partner still answers.
    assert paris.save_page(2, {"lieu_action": "À 22 h à Chambéry"}).status_code == 302
    paris.get("/bilan/page/2")
    clock.set(PARIS_CLOSES + timedelta(seconds=1))
    assert paris.save_page(2, {"lieu_action": "Trop tard"}, reload=False).status_code == 409


def test_the_emails_of_an_overseas_caf_give_its_own_closing(app, campaign, factory, db):
    from survey.mail.messages import compose
    response_id, _ = factory.project(campaign, caf_number="974", caf_name="Caf de La Réunion", timezone=None)
    assert cli(app, "set-caf-window", CODE, "974", "--closes", "2024-07-15 23:59:59").exit_code == 0
    with app.test_request_context():
        response = get_session().get(Response, response_id)
        message = compose(EmailKind.REMINDER, response, "a@asso.re", link="http://bilan.test/r/x")
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "lundi 15 juillet 2024 à 23\u00a0h\u00a059, heure de La Réunion" in text


def test_a_caf_with_its_own_closing_closes_on_it_while_another_caf_stays_open(
        app, campaign, factory, partner_for, clock, caf_user, db):
    _, (early,) = factory.project(campaign, caf_number="731", caf_name="Caf de la Savoie")
    _, (on_time,) = factory.project(campaign, caf_number="741", caf_name="Caf de la Haute-Savoie")
    admin = caf_user("admin", None)
    savoie = db.scalar(select(Caf).where(Caf.number == "731")).id
    set_window = admin.post(f"/admin/cafs/{savoie}/campagnes/{campaign}",
                            {f"w{campaign}-opens": "2024-06-14T08:00", f"w{campaign}-closes": "2024-07-08T23:59:59"},
                            from_page=f"/admin/cafs/{savoie}")
    assert set_window.status_code == 302
    first, second = partner_for(early), partner_for(on_time)
    assert "lundi 8 juillet 2024 à 23\u00a0h\u00a059" in body(first.get("/bilan"))
    assert "lundi 15 juillet 2024 à 23\u00a0h\u00a059" in body(second.get("/bilan"))
    first.get("/bilan/page/2")
    clock.set(datetime(2024, 7, 9, 8, 0, tzinfo=UTC))
    closed = first.save_page(2, {"lieu_action": "Le 9 juillet"}, reload=False)
    assert closed.status_code == 409 and "fermé depuis le lundi 8 juillet 2024 à 23\u00a0h\u00a059" in body(closed)
    assert second.save_page(2, {"lieu_action": "Le 9 juillet"}).status_code == 302
    # A later closing of its own keeps a Caf open past the campaign's.
    admin.post(f"/admin/cafs/{savoie}/campagnes/{campaign}",
               {f"w{campaign}-opens": "2024-06-14T08:00", f"w{campaign}-closes": "2024-07-22T23:59:59"},
               from_page=f"/admin/cafs/{savoie}")
    second.get("/bilan/page/2")
    clock.set(PARIS_CLOSES + timedelta(days=1))
    assert first.save_page(2, {"lieu_action": "Le 16 juillet"}).status_code == 302
    assert second.save_page(2, {"lieu_action": "Le 16 juillet"}, reload=False).status_code == 409


def test_reminders_follow_each_cafs_own_days(app, smtp, campaign, factory, clock, db):
    factory.project(campaign, caf_number="731", contacts=("savoie@asso.example",))
    factory.project(campaign, caf_number="741", caf_name="Caf de la Haute-Savoie", contacts=("haute@asso.example",))
    assert cli(app, "set-caf-window", CODE, "731", "--closes", "2024-07-08 23:59:59").exit_code == 0
    clock.set(datetime(2024, 7, 1, 6, 0, tzinfo=UTC))  # J-7 of the Savoie's own closing only
    first = cli(app, "send-due-reminders", CODE, "--schedule", "7")
    assert first.exit_code == 0, first.output
    assert "Caf 731 (calendrier propre) : Relance J-7/731" in first.output
    assert [m["To"] for m in smtp.messages] == ["savoie@asso.example"]
    clock.set(datetime(2024, 7, 8, 6, 0, tzinfo=UTC))  # J-7 of the campaign
    second = cli(app, "send-due-reminders", CODE, "--schedule", "7")
    assert second.exit_code == 0, second.output
    assert [m["To"] for m in smtp.messages] == ["savoie@asso.example", "haute@asso.example"]
    assert sorted(log.round for log in logs(db)) == ["J-7", "J-7/731"]
    clock.set(datetime(2024, 7, 9, 6, 0, tzinfo=UTC))  # the Savoie has closed: its own invitations no longer leave
    refused = cli(app, "send-invitations", CODE, "--caf", "731")
    assert refused.exit_code == 1 and "close depuis le lundi 8 juillet 2024 à 23\u00a0h\u00a059" in refused.output


def test_a_reviewer_reads_their_own_cafs_closing(app, campaign, factory, caf_user):
    factory.project(campaign, caf_number="974", caf_name="Caf de La Réunion", timezone=None)
    assert cli(app, "set-caf-window", CODE, "974", "--closes", "2024-07-12 23:59:59").exit_code == 0
    reviewer = caf_user("reviewer", "974")
    page = body(reviewer.get("/caf/"))
    assert "vendredi 12 juillet 2024 à 23\u00a0h\u00a059, heure de La Réunion (date propre à votre Caf)" in page


def test_a_partners_page_reads_the_link_and_its_cafs_own_window_in_one_statement(app, campaign, factory, partner_for, clock):
    # Every partner request applies the deadline: the Caf's window comes with the link, not in a query of its own.
    _, (savoie,) = factory.project(campaign, caf_number="731", caf_name="Caf de la Savoie")
    _, (other,) = factory.project(campaign, caf_number="741", caf_name="Caf de la Haute-Savoie")
    assert cli(app, "set-caf-window", CODE, "731", "--closes", "2024-07-08 23:59:59").exit_code == 0
    first, second = partner_for(savoie), partner_for(other)
    statements = []
    event.listen(app.extensions["db_engine"], "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    for partner, closing in ((first, "lundi 8 juillet 2024 à 23\u00a0h\u00a059"), (second, "lundi 15 juillet 2024 à 23\u00a0h\u00a059")):
        statements.clear()
        page = body(partner.get("/bilan"))
        reading_windows = [sql for sql in statements if "caf_windows" in sql]
        assert closing in page
        assert len(reading_windows) == 1 and "access_links" in reading_windows[0]
        # Nor does it read the answers' copies kept for SQL (the dashboard's, the reading view's).
        assert "short_answers" not in reading_windows[0] and "free_text" not in reading_windows[0]
    first.get("/bilan/page/2")
    clock.set(datetime(2024, 7, 9, 8, 0, tzinfo=UTC))
    statements.clear()
    closed = first.save_page(2, {"lieu_action": "Le 9 juillet"}, reload=False)
    assert closed.status_code == 409 and "fermé depuis le lundi 8 juillet 2024 à 23\u00a0h\u00a059" in body(closed)
    assert len(statements) == 1 and "caf_windows" in statements[0]  # nothing written, nothing read again
    assert second.save_page(2, {"lieu_action": "Le 9 juillet"}).status_code == 302
