"""Every write of the domain. Views and commands call these; nothing else writes.

One rule for where a write ends:

* An **operation** is what a view, a command or the demo calls to write
  (``save_page``, ``submit_response``, ``create_campaign``, ``import_projects``,
  ``update_caf``, ``withdraw_from_project``..., and
  :func:`survey.links.open_link`). It checks, writes, and commits its unit of
  work once; emails planned in that transaction leave after the commit. A
  refusal raises a :class:`~survey.errors.DomainError` with a French message
  and leaves nothing half-written: the check comes before the write, or the
  operation rolls back (and a view's ``blueprints.on_refusal`` rolls back too).
* A **building block** is what operations compose into a larger unit of work
  (the import enrols hundreds of projects in one transaction): it adds to the
  session and flushes (to get ids), never commits; the caller commits. They
  are :func:`.setup.get_or_create_caf`, :func:`.setup.enrol_project`,
  :func:`survey.links.issue_link` and :func:`survey.links.revoke_link`,
  :func:`.contacts.withdraw_contact`, :func:`.contacts.reinstate_contact`,
  :func:`.answering.record_changes` and the mail package's ``plan_*`` functions.

Reads and checks exported beside them (``carry_over_plan``, ``notes_of``,
``ensure_can_edit``, ``response_definition``...) write nothing.
"""
from ..links import issue_link, open_link, revoke_link
from ..mail.occasions import (
    plan_correction_notice,
    send_correction_notice,
    send_due_reminders,
    send_invitations,
    send_receipt,
    send_reminders,
)
from ..mail.rounds import awaits_partner, send_pending
from ..questionnaires import response_definition
from .answering import (
    Actor,
    PageSave,
    ensure_can_edit,
    ensure_partner_can_edit,
    save_page,
    submit_response,
)
from .cafs import CafSettings, CafSettingsRefused, remove_caf_window, set_caf_window, update_caf
from .carry_over import carried_codes, carry_over, carry_over_plan, previous_response
from .contacts import withdraw_from_project
from .importing import ImportReport, import_projects
from .review import (
    add_note,
    extend_deadline,
    notes_of,
    reopen_response,
    request_correction,
    send_new_link,
    validate_response,
    validate_responses,
)
from .setup import (
    create_campaign,
    enrol_project,
    get_or_create_caf,
    project_context,
)
from .users import (
    authenticate,
    check_second_factor,
    create_user,
    deactivate_user,
    disable_second_factor,
    enable_second_factor,
    reset_password,
    set_role,
    sign_in_blocked,
    sign_out_everywhere,
)

__all__ = [
    "CafSettings", "CafSettingsRefused", "remove_caf_window", "set_caf_window", "update_caf",
    "carried_codes", "carry_over", "carry_over_plan", "previous_response",
    "Actor", "PageSave", "awaits_partner", "create_campaign", "create_user", "deactivate_user", "enrol_project", "ensure_can_edit",
    "ensure_partner_can_edit", "extend_deadline", "get_or_create_caf", "issue_link", "open_link", "project_context",
    "authenticate", "check_second_factor", "disable_second_factor", "enable_second_factor", "sign_out_everywhere",
    "reopen_response", "request_correction", "reset_password", "response_definition",
    "revoke_link", "save_page", "plan_correction_notice", "send_correction_notice", "send_new_link", "send_due_reminders", "send_invitations", "send_pending",
    "send_receipt", "send_reminders", "set_role", "sign_in_blocked", "submit_response", "validate_response",
    "add_note", "notes_of", "validate_responses", "withdraw_from_project", "ImportReport", "import_projects",
]
