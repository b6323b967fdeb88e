"""STUB (branch mailweb), to be replaced at merge by the outbox helper's versions of the same names.

``round_progress`` and ``resend`` are written minimally here so that the
emails pages can be built and tested; ``Outbox.wake`` (survey/mail/outbox.py)
likewise. The lead keeps the other branch's implementations and this
module's callers (survey/blueprints/emails.py) import them from there.
"""
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import Caf, EmailLog, EmailStatus, Project, Response
from .rounds import Round


def round_progress(db: Session, round_: Round) -> dict[EmailStatus, int]:
    """How many messages of the round are in each status (every status present, 0 if none)."""
    query = (select(EmailLog.status, func.count())
             .join(Response, EmailLog.response_id == Response.id)
             .join(Project, Response.project_id == Project.id).join(Caf, Project.caf_id == Caf.id)
             .where(Response.campaign_id == round_.campaign.id, EmailLog.kind == round_.kind,
                    EmailLog.round == round_.label)
             .group_by(EmailLog.status))
    if round_.caf_number:
        query = query.where(Caf.number == round_.caf_number)
    counts = dict.fromkeys(EmailStatus, 0)
    counts.update({status: number for status, number in db.execute(query)})
    return counts


def resend(db: Session, log_ids: list[int], caf_id: int | None, now: datetime) -> int:
    """Put the failed rows among ``log_ids`` (of Caf ``caf_id``'s projects, unless None) back to pending; commit.

    Returns how many were. The caller wakes the outbox.
    """
    of_caf = select(Response.id).join(Project, Response.project_id == Project.id)
    if caf_id is not None:
        of_caf = of_caf.where(Project.caf_id == caf_id)
    result = db.execute(update(EmailLog)
                        .where(EmailLog.id.in_(log_ids), EmailLog.status == EmailStatus.FAILED,
                               EmailLog.response_id.in_(of_caf))
                        .values(status=EmailStatus.PENDING, planned_at=now)
                        .execution_options(synchronize_session=False))
    db.commit()
    return result.rowcount
