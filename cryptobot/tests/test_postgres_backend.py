"""The PostgreSQL backend's health check: free while the connection is idle and quiet, and
still catching a connection the server has ended."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the backend is PostgreSQL's"
)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _other_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
        autocommit=True,
    )


def _last_query_start(pid: int):
    """When the session ``pid`` last started a statement, seen from another connection."""
    with _other_connection() as other:
        sql = "SELECT query_start FROM pg_stat_activity WHERE pid = %s"
        return other.execute(sql, [pid]).fetchone()[0]


def test_an_idle_quiet_connection_is_usable_without_a_query(transactional_db):
    pid = _backend_pid()
    last = _last_query_start(pid)
    assert connection.is_usable()
    assert _last_query_start(pid) == last


def test_a_connection_the_server_ended_is_replaced(transactional_db):
    pid = _backend_pid()
    with _other_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert _backend_pid() != pid
