"""A hand-written baseline: the eight Clas 2023-2024 pages as plain Flask-WTF forms.

It exists only to measure the engine's overhead: same database, same
personal links, same stored answers (by the same codes), no engine. It is
not part of the product.
"""
import os
import secrets
from datetime import UTC, datetime

from flask import Flask, abort, redirect, render_template, request, session
from flask_wtf import FlaskForm
from jinja2 import DictLoader
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from stdnum.fr import siren, siret
from wtforms import EmailField, HiddenField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from survey.access import hash_token
from survey.db import build_engine
from survey.models import AccessLink, Response, ResponseState

SCALE_SITUATIONS = [("quasi_tous", "Quasiment tous"), ("beaucoup", "Pour beaucoup"), ("quelques_uns", "Pour quelques-uns"),
                    ("quasi_aucun", "Quasiment aucun"), ("ne_sais_pas", "Ne sais pas")]
SCALE_ACTIVITIES = [("chaque_seance", "À chaque séance"), ("plusieurs_par_mois", "Plusieurs séances par mois"),
                    ("quelques_par_an", "Quelques séances dans l'année"), ("jamais", "Jamais")]
YES_NO = [("oui", "Oui"), ("non", "Non")]
SCALE_ORIGIN = [("toujours", "Toujours ou presque"), ("assez_souvent", "Assez souvent"), ("parfois", "Parfois"),
                ("jamais", "Jamais")]


def check_siret(form, field):
    if field.data and not siret.is_valid(field.data):
        raise ValidationError("SIRET invalide")


def check_siren(form, field):
    if field.data and not siren.is_valid(field.data):
        raise ValidationError("SIREN invalide")


def radio(label, choices):
    return RadioField(label, choices=choices, validators=[Optional()], validate_choice=True)


class Base(FlaskForm):
    version = HiddenField()


class Identification(Base):
    nom_structure = StringField("Nom de la structure", validators=[Length(max=200)])
    statut_structure = radio("Statut de la structure", [("associatif", "Associatif"), ("public", "Public"), ("autre", "Autre")])
    statut_structure_autre = StringField("Si 'Autre' précisez", validators=[Length(max=500)])
    caf_nom = StringField("Nom de votre Caf", validators=[Length(max=200)])
    caf_numero = StringField("Numéro d'organisme", validators=[Length(max=20)])
    email = EmailField("Votre mail", validators=[Optional(), Regexp(r"[^@\s]+@[^@\s]+\.[^@\s]+")])
    siret = StringField("Numéro de Siret", validators=[check_siret])
    siren = StringField("Numéro de Siren", validators=[check_siren])


class Localisation(Base):
    lieu_action = StringField("Lieu de votre action", validators=[Length(max=200)])
    commune = StringField("Nom de la commune", validators=[Length(max=100)])
    code_postal = StringField("Code postal", validators=[Optional(), Regexp(r"\d{5}")])
    code_insee = StringField("Code Insee", validators=[Optional(), Regexp(r"(\d{2}|2[AB])\d{3}")])
    numero_voie = StringField("Numéro de voie", validators=[Length(max=20)])
    voie = StringField("Voie", validators=[Length(max=200)])


class Public(Base):
    qpv = radio("Votre action se déroule dans un QPV ?", YES_NO)
    tranches_age = SelectMultipleField("Votre action concerne les", choices=[
        ("primaire", "6 à 10 ans (primaire)"), ("college", "11 à 15 ans (collège)"), ("lycee", "16 à 18 ans (lycée)")],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(), validators=[Optional()])


def grid_form(name, code, rows, scale, extra=None):
    fields = {f"{code}__{row}": radio(label, scale) for row, label in rows}
    fields.update(extra or {})
    return type(name, (Base,), fields)


Situations = grid_form("Situations", "situations_enfants", [
    ("difficultes_scolaires", "Difficultés scolaires dans les apprentissages fondamentaux (calcul, lecture, écriture)"),
    ("logement_inadapte", "Conditions de logement et/ou environnement inadaptés au travail scolaire (bruit, exigüité ...)"),
    ("acces_socioculturel", "Accès limité à des activités socio-culturelles"),
    ("langue_parents", "Maîtrise difficile de la langue française par les parents"),
    ("disponibilite_parents", "Disponibilité réduite des parents"),
    ("difficultes_socioeco", "Parents en difficulté socio-économique")], SCALE_SITUATIONS)
Activites = grid_form("Activites", "types_activites", [
    ("aide_methodologique", "Un appui et/ou une aide méthodologique"), ("travail_personnel", "Une aide au travail personnel"),
    ("numerique", "Un accompagnement à l'usage du numérique"),
    ("culture_sport", "Des activités culturelles ou artistiques, lecture plaisir, sportives"),
    ("sciences_techniques", "Des activités scientifiques techniques informatiques"), ("jeux_educatifs", "Des jeux éducatifs"),
    ("sorties_visites", "Des sorties et/ou visites"),
    ("citoyennete", "Des activités liées à la citoyenneté (recherche d'informations, débats)"),
    ("ecole_orientation", "Des échanges sur le fonctionnement de l'école, sur l'orientation")], SCALE_ACTIVITIES)
Parents = grid_form("Parents", "actions_parents", [
    ("rencontres_individuelles", "Rencontres individuelles programmées entre les parents et les accompagnateurs"),
    ("outils_liaison", "Mise en place d'outils de liaison et d'échange avec les parents"),
    ("rencontres_enseignants", "Accompagnement de parents lors de rencontres avec les enseignants"),
    ("convivialite", "Temps de convivialité avec les parents"), ("participation_seances", "Participation des parents à des séances de CLAS"),
    ("rencontre_thematique", "Rencontre avec les parents autour d'une thématique"),
    ("numerique_parents", "En proposant aux parents un accompagnement à l'usage du numérique"),
    ("associations_parents", "Accompagnement des parents vers les associations de parents d'élèves"),
    ("codes_ecole", "Information et accompagnement des parents à la compréhension des codes de l'école")], YES_NO,
    {"contractualisation": radio("Votre action donne-t-elle lieu à une contractualisation ?", YES_NO)})
Inscription = grid_form("Inscription", "origine_inscription", [
    ("familles", "Les familles"), ("enfants", "Les enfants"), ("enseignants", "Sur proposition des enseignants"),
    ("travailleurs_sociaux", "Sur proposition des travailleurs sociaux"),
    ("acteurs_locaux", "Sur proposition des associations locales ou d'autres acteurs locaux"),
    ("reussite_educative", "Sur proposition de l'équipe de Réussite éducative (PRE/DRE)")], SCALE_ORIGIN)


class Bilan(Base):
    formation_coordinateur = radio("Le coordinateur a-t-il bénéficié d'une formation Clas ?", YES_NO)
    formation_animateurs = radio("Les animateurs ont-ils bénéficié d'une formation Clas ?", YES_NO)
    bilan_qualitatif = TextAreaField("Bilan qualitatif", validators=[Length(max=10000)])


PAGES = [Identification, Localisation, Public, Situations, Activites, Parents, Inscription, Bilan]
MATRICES = {"situations_enfants", "types_activites", "actions_parents", "origine_inscription"}
PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Étape {{ n }} sur 8</title></head><body><main>
<h1>Étape {{ n }} sur 8</h1>{% if error %}<p>{{ error }}</p>{% endif %}
<form method="post" enctype="multipart/form-data">
<input type="hidden" name="csrf_token" value="{{ form.csrf_token.current_token }}"><input type="hidden" name="version" value="{{ form.version.data }}">
{% for field in form if field.name not in ('csrf_token', 'version') %}
<div>{% if field.type in ('RadioField', 'SelectMultipleField') %}<fieldset><legend>{{ field.label.text }}</legend>{{ field() }}</fieldset>
{% else %}{{ field.label }} {{ field() }}{% endif %}{% for e in field.errors %}<p>{{ e }}</p>{% endfor %}</div>
{% endfor %}{% if n == 8 %}<label for="document">Document</label><input type="file" id="document" name="document">{% endif %}
<button name="action" value="next">Suivant</button></form></main></body></html>"""


def create_app():
    app = Flask(__name__)
    app.config.update(SECRET_KEY=os.environ.get("SURVEY_SECRET_KEY", secrets.token_hex(16)), WTF_CSRF_TIME_LIMIT=None)
    app.jinja_loader = DictLoader({"page.html": PAGE})  # compiled once, cached like any template
    engine = build_engine(os.environ["SURVEY_DATABASE_URL"])
    make_session = sessionmaker(bind=engine, expire_on_commit=False)
    upload_dir = os.environ.get("SURVEY_UPLOAD_DIR", "/tmp/baseline-uploads")

    def current(db):
        link = db.get(AccessLink, session.get("link_id") or 0)
        if link is None:
            abort(404)
        return db.get(Response, link.response_id)

    @app.get("/r/<token>")
    def open_link(token):
        with make_session() as db:
            link = db.scalar(select(AccessLink).where(AccessLink.token_hash == hash_token(token)))
            if link is None or link.revoked_at:
                abort(404)
            session["link_id"] = link.id
        return redirect("/bilan/page/1")

    @app.route("/bilan/page/<int:n>", methods=["GET", "POST"])
    def page(n):
        if not 1 <= n <= 8:
            abort(404)
        with make_session() as db:
            response = current(db)
            form_class = PAGES[n - 1]
            if request.method == "POST":
                form = form_class()
                if form.validate() and form.version.data == str(response.version):
                    answers = dict(response.answers)
                    for field in form:
                        if field.name in ("csrf_token", "version"):
                            continue
                        code, _, row = field.name.partition("__")
                        if code in MATRICES:
                            if field.data:
                                answers.setdefault(code, {})
                                answers[code] = {**answers[code], row: field.data}
                        elif field.data:
                            answers[field.name] = field.data.strip() if isinstance(field.data, str) else field.data
                        else:
                            answers.pop(field.name, None)
                    upload = request.files.get("document")
                    if upload and upload.filename:
                        os.makedirs(upload_dir, exist_ok=True)
                        key = secrets.token_hex(16)
                        upload.save(os.path.join(upload_dir, key))
                        answers["document"] = {"key": key, "name": upload.filename, "size": 0, "mime": "application/pdf"}
                    response.answers = answers
                    response.updated_at = datetime.now(UTC)
                    if response.state is ResponseState.NOT_STARTED:
                        response.state, response.started_at = ResponseState.IN_PROGRESS, response.updated_at
                    db.commit()
                    return redirect(f"/bilan/page/{n + 1}" if n < 8 else "/bilan/recapitulatif")
                return render_template("page.html", form=form, n=n, error="Erreurs"), 200
            data = {}
            for code, value in response.answers.items():
                if code in MATRICES:
                    data.update({f"{code}__{row}": column for row, column in value.items()})
                else:
                    data[code] = value
            form = form_class(formdata=None, data=data)
            form.version.data = str(response.version)
            return render_template("page.html", form=form, n=n, error=None)

    @app.get("/bilan/recapitulatif")
    def summary():
        with make_session() as db:
            response = current(db)
            token = FlaskForm().csrf_token.current_token
            lines = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in sorted(response.answers.items()))
            return (f'<!doctype html><html lang="fr"><title>Récapitulatif</title><dl>{lines}</dl><form method="post" '
                    f'action="/bilan/transmettre"><input type="hidden" name="csrf_token" value="{token}">'
                    f'<input type="hidden" name="version" value="{response.version}">'
                    '<button>Transmettre</button></form></html>')

    @app.post("/bilan/transmettre")
    def transmit():
        with make_session() as db:
            response = current(db)
            if FlaskForm().validate() and request.form.get("version") == str(response.version):
                now = datetime.now(UTC)
                response.state, response.submitted_at = ResponseState.SUBMITTED, now
                response.receipt = "BL-" + secrets.token_hex(5).upper()
                db.commit()
                return redirect("/bilan/accuse")
            return "refusé", 409

    @app.get("/bilan/accuse")
    def receipt():
        with make_session() as db:
            return f"<p>Transmis : {current(db).receipt}</p>"

    return app


app = create_app()
