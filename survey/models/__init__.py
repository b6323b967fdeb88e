"""The domain's tables, one module per aggregate."""
from .caf import Caf
from .campaign import Campaign
from .project import AccessLink, Contact, Project
from .response import Response, ResponseState

__all__ = ["AccessLink", "Caf", "Campaign", "Contact", "Project", "Response", "ResponseState"]
