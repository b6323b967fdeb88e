"""The domain's tables, one module per aggregate."""
from .caf import Caf, CafWindow
from .campaign import Campaign
from .correction import CorrectionRequest
from .email import EmailKind, EmailLog, EmailStatus
from .event import EventKind, ResponseEvent
from .note import ReviewNote
from .project import AccessLink, Contact, Project
from .response import Response, ResponseState
from .user import LoginAttempt, Role, User

__all__ = [
    "AccessLink", "Caf", "CafWindow", "Campaign", "Contact", "CorrectionRequest", "EmailKind", "EmailLog", "EmailStatus",
    "EventKind", "LoginAttempt", "Project", "Response", "ResponseEvent", "ResponseState", "ReviewNote", "Role", "User",
]
