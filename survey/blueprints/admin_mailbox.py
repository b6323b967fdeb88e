"""The demo's emails, for administrators: only when ``SURVEY_MAIL_FOLDER`` is set (otherwise these pages do not exist)."""
from flask import Response as HttpResponse
from flask import abort, current_app, render_template

from ..mail.folder import list_messages, read_message
from .admin import bp

# The HTML part is the application's own email, shown as the recipient would see it, with nothing active.
EMAIL_HTML_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _folder_or_404() -> str:
    return current_app.config.get("MAIL_FOLDER") or abort(404)


@bp.get("/courriels")
def list_emails():
    folder = _folder_or_404()
    return render_template("admin/emails.html", messages=list_messages(folder), folder=folder)


@bp.get("/courriels/<name>")
def show_email(name):
    message = read_message(_folder_or_404(), name) or abort(404)
    return render_template("admin/email.html", message=message)


@bp.get("/courriels/<name>/html")
def show_email_html(name):
    message = read_message(_folder_or_404(), name) or abort(404)
    if not message.html:
        abort(404)
    return HttpResponse(message.html, mimetype="text/html",
                        headers={"Content-Security-Policy": EMAIL_HTML_POLICY, "Cache-Control": "no-store"})
