"""One attached document; its bytes are stored by ``uploads``, not here."""
from flask_wtf.file import FileField
from wtforms import BooleanField

from .base import Outcome, Question


class FileQuestion(Question):
    name = "file"
    kind_label = "document joint"
    macro = "file"
    is_upload = True

    def remove_field(self):
        return f"{self.code}__supprimer"

    def build_fields(self):
        return {self.code: FileField(self.label), self.remove_field(): BooleanField("Supprimer ce document")}

    def form_data(self, answers, invalid):
        return {}

    def read(self, form):
        """The upload itself (or a removal) is left for the operation to store."""
        upload = form[self.code].data
        if upload is not None and getattr(upload, "filename", ""):
            return Outcome(raw=upload)
        if form[self.remove_field()].data:
            return Outcome(raw="remove")
        return Outcome(raw=None)

    def export_cells(self, answers, labels):
        value = answers.get(self.code)
        return [value["name"] if value else ""]

    def display(self, value):
        if not value:
            return []
        return [f"{value['name']} ({human_size(value['size'])})"]


def human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} Ko"
    return f"{size / (1024 * 1024):.1f}".replace(".", ",").removesuffix(",0") + " Mo"
