"""Django's PostgreSQL backend, with a health check that costs no round trip when idle.

With CONN_HEALTH_CHECKS, Django checks a reused connection before the first query of each
request, by running ``SELECT 1``: one more network round trip per request, about 5% of the
CPU of a POST /trade in the web worker and PostgreSQL together (bench/bench_trade.py).
An idle connection receives nothing unless the server has something to say: when PostgreSQL
shuts down, restarts or ends the session it sends the error and closes the socket, and both
make the socket readable. So a connection that is idle, in good standing for libpq and has
nothing to read is usable without asking; anything else falls back to Django's SELECT 1,
which decides (and reconnects) exactly as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    """``ENGINE = "cryptobot.postgres"``: everything as Django's, apart from ``is_usable``."""

    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed:
            return False
        if (
            conn.pgconn.status == pq.ConnStatus.OK
            and conn.info.transaction_status == pq.TransactionStatus.IDLE
            and not _readable(conn.fileno())
        ):
            return True
        return super().is_usable()


def _readable(fd: int) -> bool:
    """Whether the socket has data or was closed by the peer (poll: no FD_SETSIZE limit)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
