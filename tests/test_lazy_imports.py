"""What only some requests need is imported by the first of them, not by every process (bench/RESULTS-caf.md, memory):
reportlab (PDFs), zxcvbn (password checks), segno (second-factor QR codes)."""
import subprocess
import sys
import textwrap

LAZY = ("reportlab", "zxcvbn", "segno")

FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    from datetime import datetime, timezone
    from survey import create_app
    from survey.migrate import upgrade

    lazy = {lazy!r}
    loaded = lambda: sorted(name for name in lazy if name in sys.modules)
    url = "sqlite:///{folder}/lazy.sqlite3"
    upgrade(url)
    app = create_app({{"DATABASE_URL": url, "ENV": "development", "SECRET_KEY": "lazy", "UPLOAD_DIR": "{folder}"}})
    from survey.db import get_session
    from survey.operations import create_campaign
    from survey.questionnaires import DEFINITIONS_DIR
    with app.app_context():
        content = json.loads((DEFINITIONS_DIR / "clas-2024-2025.json").read_text(encoding="utf-8"))
        create_campaign(get_session(), "clas-lazy", content, datetime(2024, 6, 1, tzinfo=timezone.utc),
                        datetime(2024, 7, 1, tzinfo=timezone.utc))
        get_session().commit()
    client = app.test_client()
    before = loaded()
    html = client.get("/questionnaire/clas-lazy")
    after_html = loaded()
    pdf = client.get("/questionnaire/clas-lazy.pdf")
    from survey.passwords import password_problem
    from survey.blueprints.auth import _qr_code
    weak, strong = password_problem("azertyuiop12"), password_problem("cheval agrafe batterie correcte 1987")
    qr = _qr_code("otpauth://totp/Clas:test?secret=JBSWY3DPEHPK3PXP")
    print(json.dumps({{"before": before, "after_html": after_html, "html": html.status_code, "pdf": pdf.status_code,
                      "pdf_start": pdf.get_data()[:5].decode("latin-1"), "weak": weak, "strong": strong,
                      "qr": qr[:18], "after": loaded()}}))
""")


def test_a_fresh_process_serves_pages_without_the_heavy_libraries_then_loads_each_on_first_use(tmp_path):
    import json

    code = FRESH_PROCESS.format(lazy=LAZY, folder=tmp_path)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["before"] == [] and seen["after_html"] == []  # the application and an HTML page: none of them
    assert seen["html"] == 200 and seen["pdf"] == 200 and seen["pdf_start"] == "%PDF-"  # the first PDF works
    assert seen["weak"] and "trop facile" in seen["weak"] and seen["strong"] is None  # the first check judges
    assert seen["qr"] == "data:image/svg+xml"  # the first QR code draws
    assert seen["after"] == ["reportlab", "segno", "zxcvbn"]  # each loaded by its first use
