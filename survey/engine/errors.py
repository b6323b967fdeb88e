"""What the engine raises when a questionnaire definition cannot be used."""


class DefinitionError(Exception):
    """A questionnaire definition is broken; ``errors`` name each place."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: définition invalide\n" + "\n".join(f"  - {e}" for e in errors))
