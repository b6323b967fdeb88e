"""The views, one blueprint per audience: thin, they read the request, call an operation, show its outcome."""
from ..db import get_session
from ..errors import DomainError


def on_refusal(bp):
    """Register the decorated ``show(error)`` as ``bp``'s one answer to a refused write.

    Any :class:`DomainError` a view of ``bp`` lets through ends here: the
    session is rolled back (nothing half-done is kept, nothing stale is shown),
    then ``show`` tells why, in French. Views catch a refusal themselves only
    to show it beside a field of the form they render back.
    """
    def register(show):
        @bp.errorhandler(DomainError)
        def refused(error: DomainError):
            get_session().rollback()
            return show(error)
        return show
    return register
