"""Template context shared by every dashboard page."""

from django.http import HttpRequest


def shell(request: HttpRequest) -> dict:
    return {}
