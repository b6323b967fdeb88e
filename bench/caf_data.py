"""The national data set of ``bench.caf``, bulk-loaded (not through HTTP).

Projects in 101 Cafs of uneven sizes (a big one with 5 % of them), one or two
contacts each, one response per project and campaign (older campaigns closed
and mostly validated; the last one open, with every state), long bilans, about
20 history events per started response (150 on one of them), correction
requests open and closed, and the invitations already sent.
"""
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from .common import CLAS
from .exports import stored_answers

PASSWORD = "mot-de-passe-du-banc"
ADMIN, REVIEWER = "admin@bench.example", "relecteur@bench.example"
CAFS = 101
BIG_CAF_SHARE = 0.05
EVENTS = 20
LONG_HISTORY = 150
LONG_TEXT = ("Les enfants ont gagné en confiance et en autonomie ; les familles sont venues plus souvent. " * 45).strip()
# The states of the open campaign's responses, by project index modulo 10.
OPEN_STATES = ["not_started", "not_started", "in_progress", "in_progress", "submitted", "submitted", "submitted",
               "correction_requested", "validated", "validated"]


def caf_sizes(projects: int, cafs: int) -> list[int]:
    """Uneven Cafs: the first has ``BIG_CAF_SHARE`` of the projects, the others 1 to 10 shares each."""
    cafs = max(2, min(cafs, projects // 3))
    big = max(1, round(projects * BIG_CAF_SHARE))
    weights = [1 + (i * 7) % 10 for i in range(cafs - 1)]
    rest = projects - big
    sizes = [rest * w // sum(weights) for w in weights]
    sizes[0] += rest - sum(sizes)
    return [big] + sizes


class Data:
    """What the pages need to know about the loaded data."""

    def __init__(self):
        self.campaign_id = self.long_response_id = self.correction_response_id = None
        self.big_caf = None
        self.responses = 0
        self.events = 0


def load(url: str, size: int, campaigns: int) -> Data:
    """Bulk-load ``size`` responses over ``campaigns`` campaigns (see the module's docstring)."""
    from werkzeug.security import generate_password_hash

    from survey.db import build_engine
    from survey.models import Caf, Campaign, Contact, Project, User

    engine = build_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    projects_count = max(3, -(-size // campaigns))
    sizes = caf_sizes(projects_count, CAFS)
    answers = []
    for seed in range(10):
        stored = stored_answers(seed)
        stored["bilan_qualitatif"] = f"Bilan {seed}.\n\n" + LONG_TEXT + "\n\n" + LONG_TEXT[: 200 * seed]
        answers.append(stored)
    data = Data()
    with engine.begin() as db:
        caf_ids = db.execute(insert(Caf).returning(Caf.id, sort_by_parameter_order=True), [
            {"number": f"{100 + i}", "name": f"Caf n° {100 + i}",
             "timezone": "America/Cayenne" if i == len(sizes) - 1 else "Europe/Paris"} for i in range(len(sizes))]
        ).scalars().all()
        data.big_caf = "100"
        hashed = generate_password_hash(PASSWORD)
        admin_id, reviewer_id = db.execute(insert(User).returning(User.id, sort_by_parameter_order=True), [
            {"email": ADMIN, "name": "Admin national", "password_hash": hashed, "role": "admin", "caf_id": None,
             "active": True, "created_at": now},
            {"email": REVIEWER, "name": "Relecteur", "password_hash": hashed, "role": "reviewer",
             "caf_id": caf_ids[0], "active": True, "created_at": now},
        ]).scalars().all()
        caf_of = [caf_id for caf_id, count in zip(caf_ids, sizes, strict=True) for _ in range(count)]
        projects = db.execute(insert(Project).returning(Project.id, sort_by_parameter_order=True), [
            {"reference": f"P-{i:06d}", "caf_id": caf_of[i], "structure_name": f"Structure {i}",
             "siret": "77567227200017", "commune": f"Commune {i % 400}"} for i in range(projects_count)]).scalars().all()
        contact_rows = [{"project_id": pid, "email": f"c{n}-{pid}@bench.example"}
                        for i, pid in enumerate(projects) for n in range(1 + (i % 3 == 0))]
        contact_ids = db.execute(insert(Contact).returning(Contact.id, Contact.project_id, sort_by_parameter_order=True),
                                 contact_rows).all()
        contacts_of = {}
        for contact_id, project_id in contact_ids:
            contacts_of.setdefault(project_id, []).append(contact_id)
        for number in range(campaigns):
            current = number == campaigns - 1
            opens = now - timedelta(days=20) if current else now - timedelta(days=365 * (campaigns - number))
            closes = now + timedelta(days=30) if current else opens + timedelta(days=50)
            campaign_id = db.execute(insert(Campaign).values(
                code=f"clas-{2021 + number}", title=f"Clas {2021 + number}-{2022 + number} : bilan qualitatif",
                definition_code=CLAS["code"], definition_version=CLAS["version"], definition_content=CLAS,
                opens_at=opens, closes_at=closes).returning(Campaign.id)).scalar_one()
            _load_campaign(db, data, campaign_id, number, current, projects, contacts_of, answers, opens, now,
                           admin_id, reviewer_id, size - number * projects_count if current else projects_count)
            if current:
                data.campaign_id = campaign_id
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))  # as autovacuum would, soon after such a load
    engine.dispose()
    return data


def _varied(answers: dict, closed: list, rng: random.Random) -> dict:
    """``answers`` with its closed questions answered anew: real bilans hardly ever share a whole grid, and
    the dashboard's counting must not depend on a handful of distinct answers."""
    varied = dict(answers)
    for question in closed:
        if question.name == "matrix":
            columns = [column["code"] for column in question.columns]
            varied[question.code] = {row["code"]: rng.choice(columns) for row in question.rows}
        elif getattr(question, "is_multiple", False):
            choices = [choice["code"] for choice in question.choices]
            varied[question.code] = sorted(rng.sample(choices, rng.randrange(1, len(choices) + 1)))
        elif getattr(question, "choices", None):
            varied[question.code] = rng.choice([choice["code"] for choice in question.choices])
    return varied


def _load_campaign(db, data, campaign_id, number, current, projects, contacts_of, answers, opens, now, admin_id,
                   reviewer_id, count):
    from survey.engine.definition import build_definition
    from survey.models import CorrectionRequest, EmailLog, Response, ResponseEvent
    from survey.models.response import joined_free_texts, without_long_texts

    count = max(1, min(count, len(projects)))
    definition = build_definition(CLAS)
    codes = definition.free_text_codes
    free_texts = [joined_free_texts(a, codes) for a in answers]
    closed = [q for q in definition.questions.values() if q.chart]
    rng = random.Random(campaign_id)
    rows = []
    for i, project_id in enumerate(projects[:count]):
        state = OPEN_STATES[i % 10] if current else ("validated" if i % 10 else "submitted")
        answered = _varied(answers[i % 10], closed, rng)
        row = {"campaign_id": campaign_id, "project_id": project_id, "state": state, "definition_version": 1,
               "answers": answered if state != "not_started" else {}, "invalid": {}, "version": 1,
               "short_answers": without_long_texts(answered) if state != "not_started" else {},
               "free_text": free_texts[i % 10] if state != "not_started" else None,
               "annotated": False, "started_at": None, "updated_at": None, "submitted_at": None, "receipt": None,
               "validated_at": None, "validated_by_id": None}  # every row the same keys: one executemany
        if state != "not_started":
            row.update(started_at=opens + timedelta(days=1), updated_at=opens + timedelta(days=2))
        if state in ("submitted", "correction_requested", "validated"):
            row.update(submitted_at=opens + timedelta(days=2 + i % 15), receipt=f"BQ-{number}-{i:08d}")
        if state == "validated":
            row.update(validated_at=opens + timedelta(days=18), validated_by_id=reviewer_id)
        rows.append(row)
    ids = db.execute(insert(Response).returning(Response.id, sort_by_parameter_order=True), rows).scalars().all()
    data.responses += len(ids)
    events, corrections, emails = [], [], []
    codes = [code for code in answers[0] if code != "bilan_qualitatif"]
    for i, (response_id, row) in enumerate(zip(ids, rows, strict=True)):
        if row["state"] == "not_started":
            continue
        contact = contacts_of[row["project_id"]][0]
        many = LONG_HISTORY if current and i == 4 else EVENTS
        for n in range(many - 1):
            code = codes[n % len(codes)] if n % 5 else "bilan_qualitatif"
            value = answers[(i + n) % 10].get(code)
            events.append({"response_id": response_id, "at": row["started_at"] + timedelta(minutes=n), "kind": "answer",
                           "code": code, "old_value": None if n < len(codes) else value, "new_value": value,
                           "contact_id": contact, "user_id": reviewer_id if n % 7 == 6 else None})
        if row.get("submitted_at"):
            events.append({"response_id": response_id, "at": row["submitted_at"], "kind": "submitted", "code": None,
                           "old_value": None, "new_value": None, "contact_id": contact, "user_id": None})
        if row["state"] == "correction_requested" or (row["state"] == "validated" and i % 20 == 8):
            open_ = row["state"] == "correction_requested"
            corrections.append({"response_id": response_id, "requested_by_id": reviewer_id,
                                "requested_at": row["submitted_at"] + timedelta(days=1),
                                "until": now + timedelta(days=10) if open_ else row["submitted_at"] + timedelta(days=8),
                                "items": [{"code": "bilan_qualitatif", "message": "Précisez les progrès observés."}],
                                "closed_at": None if open_ else row["submitted_at"] + timedelta(days=3)})
        if current:
            if i == 4:
                data.long_response_id = response_id
            if row["state"] == "correction_requested" and data.correction_response_id is None:
                data.correction_response_id = response_id
    for start in range(0, len(events), 20_000):
        db.execute(insert(ResponseEvent), events[start:start + 20_000])
    data.events += len(events)
    if corrections:
        db.execute(insert(CorrectionRequest), corrections)
    if current:
        for i, (response_id, row) in enumerate(zip(ids, rows, strict=True)):
            for contact in contacts_of[row["project_id"]]:
                emails.append({"kind": "invitation", "round": "invitation", "contact_id": contact,
                               "response_id": response_id, "status": "sent", "planned_at": opens,
                               "attempted_at": opens, "sent_at": opens})
                if (i % 3 == 0 or i % 20 == 7) and row["state"] in ("not_started", "in_progress", "correction_requested"):
                    # Planned by an interrupted run: the next preview lists these too.
                    emails.append({"kind": "reminder", "round": "J-14", "contact_id": contact,
                                   "response_id": response_id, "status": "pending", "planned_at": now,
                                   "attempted_at": None, "sent_at": None})
        db.execute(insert(EmailLog), emails)
