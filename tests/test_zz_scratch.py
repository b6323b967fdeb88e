from tests.test_mail import *  # noqa

def test_show(app, smtp, campaign, factory, partner_for, db, clock):
    response_id = transmit_through_the_web(factory, partner_for, campaign, ("a@one.example",))
    in_app(app, lambda db: send_receipt(db, db.get(Response, response_id)))
    reviewer = in_app(app, lambda db: create_user(db, "reviewer@caf.example", "a" * 12, Role.REVIEWER, "731"))
    def ask(db):
        response = db.get(Response, response_id)
        request = request_correction(db, response, reviewer, [{"code": "lieu_action", "message": "Précisez l'adresse.\nEt le quartier."}, {"code": "qpv", "message": "Vraiment ?"}],
            datetime(2024, 7, 20, 21, 59, 59, tzinfo=UTC), response.version, clock.now)
        return send_correction_notice(db, request)
    in_app(app, ask)
    factory.project(campaign, contacts=("b@one.example",))
    cli(app, "send-invitations", CODE)
    cli(app, "send-reminders", CODE, "--days-before", "3")
    for m in smtp.messages:
        print("=" * 80)
        print(m["Subject"])
        print(m.get_body(("plain",)).get_content())
    print(smtp.messages[0].get_body(("html",)).get_content())
    print(smtp.messages[0].as_string()[:1500])
