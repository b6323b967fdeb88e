"""Text that goes into an email header is refused with a line break when entered, not when the email leaves."""
import html

import pytest
from sqlalchemy import func, select

from survey.models import Campaign

HOSTILE = ["Clas 2024\r\nBcc: tous@ailleurs.example", "Clas 2024\nBilan", "Clas\t2024", "Clas 2024\r"]


@pytest.mark.parametrize("title", HOSTILE)
def test_the_command_refuses_a_campaign_title_with_a_line_break(app, db, title):
    result = app.test_cli_runner().invoke(args=[
        "create-campaign", "clas-titre", "survey/definitions/clas-2023-2024.json",
        "--opens", "2024-06-14 08:00", "--closes", "2024-07-15 23:59:59", "--title", title])
    assert result.exit_code == 1 and "sans retour à la ligne" in result.output
    assert db.scalar(select(func.count()).select_from(Campaign)) == 0


@pytest.mark.parametrize("title", HOSTILE[:3])  # the page trims the ends of what is typed
def test_the_admin_page_refuses_a_campaign_title_with_a_line_break(caf_user, db, title):
    admin = caf_user("admin", None)
    admin.get("/admin/")
    answer = admin.post("/admin/campagnes", {"definition": "clas-2024-2025@2", "code": "clas-titre", "title": title,
                                             "opens": "2025-06-01T08:00", "closes": "2025-07-15T23:59:59"})
    assert answer.status_code == 400 and "sans retour à la ligne" in html.unescape(answer.get_data(as_text=True))
    assert db.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_definition_whose_title_has_a_line_break_makes_no_campaign(app, db):
    import json

    from survey.errors import DomainError
    from survey.operations import create_campaign
    from tests.conftest import CLAS, CLAS_CLOSES, CLAS_OPENS
    with app.app_context(), pytest.raises(DomainError, match="sans retour à la ligne"):
        create_campaign(db, "clas-titre", {**json.loads(json.dumps(CLAS)), "title": "Clas\r\nBcc: x@y.example"},
                        CLAS_OPENS, CLAS_CLOSES)
