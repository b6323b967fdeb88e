"""WSGI entry point: ``gunicorn wsgi:app``."""
from survey import create_app

app = create_app()
