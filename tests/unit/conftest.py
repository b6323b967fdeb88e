"""Fixtures of the unit tests: a bare Flask application to post page forms on."""
import pytest
from flask import Flask

from survey.engine.definition import build_definition
from survey.engine.forms.builder import page_form_class
from survey.engine.questions import Outcome

from .factories import definition


@pytest.fixture
def flask_app():
    """Just enough application for a request context; no database."""
    app = Flask("survey-unit-tests")
    app.config.update(SECRET_KEY="unit-tests", TESTING=True)
    return app


@pytest.fixture
def post_page(flask_app):
    """Post ``data`` on the first page of ``spec``; return each question's Outcome by code."""

    def post(spec: dict, data: dict) -> dict[str, Outcome]:
        built = build_definition(spec)
        page = built.pages[0]
        form_class = page_form_class(built, page)
        with flask_app.test_request_context(method="POST", data=data):
            form = form_class(meta={"csrf": False})
            form.validate()
            return {question.code: question.read(form) for question in page.questions}

    return post


@pytest.fixture
def answer(post_page):
    """Post ``posted`` on a page holding only ``question``; return its Outcome.

    ``posted`` is the value typed for the question, or a dict of form fields.
    """

    def read(question: dict, posted) -> Outcome:
        data = posted if isinstance(posted, dict) else {question["code"]: posted}
        return post_page(definition(question), data)[question["code"]]

    return read
