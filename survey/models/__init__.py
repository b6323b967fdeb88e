"""The domain's tables, one module per aggregate."""
from .caf import Caf
from .campaign import Campaign
from .correction import CorrectionRequest
from .event import EventKind, ResponseEvent
from .project import AccessLink, Contact, Project
from .response import Response, ResponseState
from .user import LoginAttempt, Role, User

__all__ = [
    "AccessLink", "Caf", "Campaign", "Contact", "CorrectionRequest", "EventKind", "LoginAttempt",
    "Project", "Response", "ResponseEvent", "ResponseState", "Role", "User",
]
