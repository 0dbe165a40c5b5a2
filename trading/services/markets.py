"""The market catalogue: seeding the shipped symbols and resolving user spellings."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from trading.catalogue import DEFAULT_MARKETS
from trading.errors import UnknownSymbol
from trading.models import Symbol
from trading.symbols import normalize_symbol

_WATCHED_CACHE_KEY = "markets:watched"
_ALL_CACHE_KEY = "markets:all"


@transaction.atomic
def symbols_seed() -> int:
    """Create the shipped markets if missing; ``watched`` follows WATCHED_SYMBOLS on creation
    only, so admin edits survive restarts. Returns how many were created."""
    created = 0
    for spec in DEFAULT_MARKETS:
        _, was_created = Symbol.objects.get_or_create(
            symbol=spec.symbol,
            defaults={
                "base": spec.base,
                "quote": spec.quote,
                "tick_size": spec.tick_size,
                "step_size": spec.step_size,
                "min_notional": spec.min_notional,
                "max_leverage": spec.max_leverage,
                "watched": spec.symbol in settings.WATCHED_SYMBOLS,
            },
        )
        created += was_created
    transaction.on_commit(watched_symbols_changed)
    return created


# Hot paths (every price read and order) read the symbol lists from this process's copy,
# refreshed from Redis every few seconds; admin edits reach every process within that time.
_LOCAL_SECONDS = 5.0
_local: dict[str, tuple[float, list[str]]] = {}


def _cached_names(key: str, query) -> list[str]:
    hit = _local.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    names = cache.get(key)
    if names is None:
        names = list(query())
        cache.set(key, names, 30)
    _local[key] = (now + _LOCAL_SECONDS, names)
    return names


def watched_symbols() -> list[str]:
    """Watched symbol names (admin changes show within seconds)."""
    return _cached_names(
        _WATCHED_CACHE_KEY,
        lambda: Symbol.objects.filter(watched=True).values_list("symbol", flat=True),
    )


def watched_symbols_changed() -> None:
    """Forget the cached symbol lists and this process's market rules (admin saves and the
    catalogue seed call this)."""
    from trading.services.paper_account import paper_engine  # it imports prices → markets

    _local.clear()
    cache.delete_many([_WATCHED_CACHE_KEY, _ALL_CACHE_KEY])
    paper_engine.cache_clear()


def symbol_resolve(raw: str, *, watched_only: bool = False) -> str:
    """Canonical name of a known symbol, or UnknownSymbol listing the valid ones."""
    name = normalize_symbol(raw or "")
    valid = watched_symbols() if watched_only else _all_symbols()
    if name not in valid:
        raise UnknownSymbol(raw, valid)
    return name


def symbol_get(raw: str) -> Symbol:
    """The Symbol row for any accepted spelling."""
    name = normalize_symbol(raw or "")
    symbol = Symbol.objects.filter(symbol=name).first()
    if symbol is None:
        raise UnknownSymbol(raw, _all_symbols())
    return symbol


def _all_symbols() -> list[str]:
    """Every catalogue symbol, cached like the watched list (the catalogue rarely changes)."""
    return _cached_names(_ALL_CACHE_KEY, lambda: Symbol.objects.values_list("symbol", flat=True))
