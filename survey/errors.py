"""Domain errors. Each carries a message in French, fit to show to people."""


class DomainError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    """A state change the rules forbid (edit a transmitted bilan...)."""


class QuestionnaireClosed(DomainError):
    """The deadline has passed (or the campaign is not open yet)."""


class StaleVersion(DomainError):
    """Someone saved the response since this form was opened."""


class IncompleteResponse(DomainError):
    """Required answers are missing or some answers are invalid."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class FormRefused(DomainError):
    """A Caf's form refused as a whole; ``errors`` maps each field's name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors
