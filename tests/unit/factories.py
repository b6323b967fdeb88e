"""Tiny inline definitions for the unit tests."""


def definition(*questions, rules=(), **head) -> dict:
    """A one-page definition holding ``questions``; ``head`` overrides top-level keys."""
    data = {
        "code": "essai",
        "version": 1,
        "title": "Questionnaire d'essai",
        "pages": [{"code": "page", "title": "Page unique", "questions": list(questions)}],
        "rules": list(rules),
    }
    data.update(head)
    return data


def pages(*pages_questions, rules=()) -> dict:
    """A definition with one page per list of questions."""
    return definition(
        rules=rules,
        pages=[
            {"code": f"page{number}", "title": f"Page {number}", "questions": list(questions)}
            for number, questions in enumerate(pages_questions, start=1)
        ],
    )
