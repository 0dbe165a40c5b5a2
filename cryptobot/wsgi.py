"""WSGI entry point: gunicorn serves every HTTP route through it (docs/ARCHITECTURE.md)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptobot.settings")
application = get_wsgi_application()

# Import every view now (the URL conf is otherwise loaded by the first request), then move
# everything loaded so far out of the garbage collector's sight: those ~200k long-lived
# objects (Django, DRF, pandas, the engine...) would otherwise be walked again by every
# full collection while requests run. A request allocates a few thousand short-lived
# containers, freed by reference counting; at the default threshold (700) the young
# generation was still collected several times per request (~2.5% of POST /trade's CPU).
get_resolver().url_patterns  # noqa: B018
gc.freeze()
gc.set_threshold(20_000, 10, 10)
