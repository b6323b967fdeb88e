"""RGAA fixes that can be checked on the HTML: sign-in, sort links, stacked tables, dashboard figure, titles, 404."""
import html
import re
from pathlib import Path


def text(response):
    return html.unescape(response.get_data(as_text=True))


def test_sign_in_fields_are_required_and_valid_html(app):
    page = text(app.test_client().get("/connexion"))
    email = re.search(r'<input[^>]*name="email"[^>]*>', page).group(0)
    password = re.search(r'<input[^>]*name="password"[^>]*>', page).group(0)
    assert " required" in email and " required" in password and page.count("(obligatoire)") == 2
    # RGAA 8.2: autocomplete="username" is not allowed on type="email".
    assert 'type="text"' in email and 'autocomplete="username"' in email and 'inputmode="email"' in email
    assert 'autocomplete="current-password"' in password


def test_sort_links_say_what_they_do_and_stacked_rows_keep_their_headers(factory, partner_for, caf_user):
    campaign = factory.campaign()
    factory.project(campaign)
    reviewer = caf_user("reviewer", "731")
    page = text(reviewer.get(f"/caf/campagnes/{campaign}"))
    link = re.search(r'<a href="[^"]*tri=structure[^"]*">(.*?)</a>', page).group(1)
    assert re.sub(r"<[^>]+>", "", link) == "Trier par Structure, ordre croissant"
    assert '<span class="cell-label" aria-hidden="true">Structure : </span>' in page


def test_the_dashboard_figure_has_a_role_and_the_name_of_its_caption(factory, partner_for, caf_user):
    from tests.conftest import complete_clas_answers
    campaign = factory.campaign()
    _, (token,) = factory.project(campaign)
    partner = partner_for(token)
    for number, data in complete_clas_answers().items():
        partner.save_page(number, data)
    partner.transmit()
    admin = caf_user("admin", None)
    page = text(admin.get(f"/caf/campagnes/{campaign}/tableau-de-bord"))
    figure = re.search(r'<figure role="figure" aria-label="([^"]+)">', page)
    caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", page, re.S)
    assert figure and caption and figure.group(1) == caption.group(1).strip()


def test_a_refused_caf_form_says_error_in_the_page_title(factory, partner_for, caf_user):
    campaign = factory.campaign()
    response_id, _ = factory.project(campaign)
    reviewer = caf_user("reviewer", "731")
    page = f"/caf/reponses/{response_id}"
    refused = reviewer.post(f"{page}/delai", {"until": "pas une date", "reason": "x"}, from_page=page)
    assert refused.status_code >= 400 and "<title>Erreur : " in text(refused)
    assert "<title>Erreur : " not in text(reviewer.get(page))


def test_the_404_page_links_back(app):
    page = text(app.test_client().get("/nulle-part"))
    assert 'href="/bilan"' in page and 'href="/caf/"' in page


def test_the_focus_ring_is_dark_with_a_light_halo():
    css = (Path(__file__).parent.parent / "survey" / "static" / "style.css").read_text()
    assert "#ffbf47" not in css  # 1.6:1 on white
    assert "outline: 3px solid #1e1e1e" in css and "box-shadow: 0 0 0 5px #fff" in css
