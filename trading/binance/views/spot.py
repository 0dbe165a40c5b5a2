"""Binance-compatible spot routes (being built)."""

from __future__ import annotations

urlpatterns: list = []
