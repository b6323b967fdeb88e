"""Documents to print or keep: the PDF of a bilan and the blank questionnaire."""
from .bilan import bilan_filename, bilan_pdf
from .blank import PREPARE, blank_pdf, condition_text, length_limits, upload_limits

__all__ = ["PREPARE", "bilan_filename", "bilan_pdf", "blank_pdf", "condition_text", "length_limits", "upload_limits"]
