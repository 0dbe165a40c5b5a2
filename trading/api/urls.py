"""Market-data and trading routes (see docs/API.md)."""

urlpatterns: list = []
