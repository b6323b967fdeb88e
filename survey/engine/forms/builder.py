"""Build one form class per page of a definition, once, then reuse it."""
from flask_wtf import FlaskForm
from wtforms import HiddenField


class PageForm(FlaskForm):
    """Base of every questionnaire page: the response version it was opened on."""

    class Meta:
        # CSRFProtect checks every POST of the application before any view
        # runs; checking the same token again in each page form is redundant.
        csrf = False

    version = HiddenField()

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None

    def outcomes(self, page) -> dict:
        """What the posted page holds, question code -> :class:`~survey.engine.questions.base.Outcome`.

        The form is validated first: each outcome carries its field's French
        errors. This is all a saving operation needs of the form.
        """
        self.validate()
        return {question.code: question.read(self) for question in page.questions}


# A question code becomes a form attribute: it must not shadow the form's own.
RESERVED_NAMES = frozenset(dir(PageForm)) | {"version", "action", "csrf_token"}

_form_classes: dict[tuple[str, int], type[PageForm]] = {}


def page_form_class(definition, page) -> type[PageForm]:
    """The form class of ``page``; built with ``type()`` on first use, cached by digest."""
    key = (definition.digest, page.index)
    form_class = _form_classes.get(key)
    if form_class is None:
        fields = {}
        for question in page.questions:
            fields.update(question.build_fields())
        form_class = type(f"Page_{definition.code}_{page.code}", (PageForm,), fields)
        _form_classes[key] = form_class
    return form_class


def forget_form_classes():
    _form_classes.clear()


def initial_data(page, answers: dict, invalid: dict, offered: dict | None = None) -> dict:
    """The form's data from what is stored; ``offered`` fills empty answers by prefill source (not stored)."""
    data = {}
    for question in page.questions:
        data.update(question.form_data(answers, invalid))
        if offered and question.prefill in offered and not data.get(question.code):
            data[question.code] = offered[question.prefill]
    return data
