"""The application's request class: a posted document can never cost the answers typed beside it.

A page that takes a document is read whole up to a generous bound, but the
document's bytes are kept only up to the upload limit (plus one byte, to know
it was exceeded); the rest is read and dropped. So a partner who picks a
60 MB video by mistake gets the page back with every text saved and a French
message beside the document, instead of a 413 that loses a bilan typed for an
hour. Every other request keeps the ordinary, small limit.
"""
import tempfile

from flask import Request, current_app

# Endpoints whose forms carry a document.
DOCUMENT_PAGES = frozenset({"partner.edit_page", "review.correct_page"})


class CappedFile:
    """A binary file that keeps its first ``limit`` bytes and counts (then drops) the rest."""

    def __init__(self, limit: int):
        self.limit = limit
        self.received = 0
        self._file = tempfile.SpooledTemporaryFile(max_size=512 * 1024)

    @property
    def overflowed(self) -> bool:
        return self.received > self.limit

    def write(self, data) -> int:
        room = self.limit - min(self.received, self.limit)
        if room:
            self._file.write(data[:room])
        self.received += len(data)
        return len(data)

    def __getattr__(self, name):  # read, seek, tell, close... go to the kept bytes
        return getattr(self._file, name)


class SurveyRequest(Request):
    @property
    def max_content_length(self) -> int | None:
        if self.url_rule is not None and self.url_rule.endpoint in DOCUMENT_PAGES:
            return current_app.config["MAX_DOCUMENT_PAGE_BYTES"]
        return super().max_content_length

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        # One byte over the upload limit is enough for the check to refuse the file.
        return CappedFile(current_app.config["UPLOAD_MAX_BYTES"] + 1)
