"""WSGI entry point: gunicorn serves every HTTP route through it (docs/ARCHITECTURE.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptobot.settings")
application = get_wsgi_application()
