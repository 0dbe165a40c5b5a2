"""Dashboard pages: render templates only; data comes from selectors and the JSON API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from cryptobot.api.tokens import api_token_get_or_create, api_token_rotate


@require_safe
@login_required
def shell_page(request: HttpRequest) -> HttpResponse:
    """The shell: sidebar and tabs; the tabs fetch their data from the API in the browser."""
    return render(request, "dashboard/shell.html")


@require_safe
@login_required
def profile_page(request: HttpRequest) -> HttpResponse:
    """The user's API token with a usage example, so scripts can call the API."""
    token = api_token_get_or_create(user=request.user)
    api_base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "dashboard/profile.html", {"token": token, "api_base": api_base})


@require_POST
@login_required
def profile_token_rotate(request: HttpRequest) -> HttpResponse:
    """Replace the API token (the old one stops working at once) and go back to the profile."""
    api_token_rotate(user=request.user)
    messages.success(request, "A new API token was issued; the old one no longer works.")
    return redirect("dashboard:profile")


@require_safe
@login_required
def api_keys_page(request: HttpRequest) -> HttpResponse:
    """The user's Binance-style API keys: create (the secret shown once), list, revoke.
    static/js/api_keys.js does the work against /api_keys."""
    api_base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "dashboard/api_keys.html", {"api_base": api_base})
