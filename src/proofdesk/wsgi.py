"""The WSGI entry point for gunicorn: `gunicorn proofdesk.wsgi:app`."""

from proofdesk.app import create_app

app = create_app()
