"""Starts the whole bot in the one serving layout used by `make run`, docker compose,
the live tests and the benchmarks (docs/ARCHITECTURE.md):

    :PORT  nginx ──/ws/──> daphne   (Channels: WebSockets)
                  ├─/static/─> files
                  └─/*────> gunicorn (sync WSGI workers: pages, admin, REST API)
    celery worker, celery beat (DatabaseScheduler)

Usage:
    python -m cryptobot.launcher run                 # set up, then everything (make run)
    python -m cryptobot.launcher serve [--only a,b]  # processes only (docker, tests, bench)

It runs before Django is configured, so it reads the environment itself.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
PROCESSES = ("proxy", "http", "ws", "worker", "beat")


def _var_dir() -> Path:
    path = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run_dir() -> Path:
    path = Path(os.environ.get("RUN_DIR", _var_dir() / "run"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_secret_key() -> None:
    """Outside DEBUG Django needs SECRET_KEY; make run keeps a generated one under var/."""
    if os.environ.get("SECRET_KEY"):
        return
    key_file = _var_dir() / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    os.environ["SECRET_KEY"] = key_file.read_text().strip()


def _redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_redis() -> subprocess.Popen | None:
    """Use REDIS_URL; if nothing answers on a local address, start a private redis-server."""
    url = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    if _redis_answers(host, port):
        return None
    server = shutil.which("redis-server")
    if host not in ("127.0.0.1", "localhost", "::1") or server is None:
        sys.exit(
            f"Redis is not answering at {host}:{port}: install it (apt-get install redis-server"
            " or brew install redis) or set REDIS_URL to a running Redis."
        )
    data_dir = _var_dir() / "redis"
    data_dir.mkdir(exist_ok=True)
    print(f"Redis was not running: starting a private redis-server on {host}:{port} (var/redis)")
    proc = subprocess.Popen(
        [
            server,
            "--bind",
            host,
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(50):
        if _redis_answers(host, port):
            return proc
        time.sleep(0.1)
    proc.terminate()
    sys.exit(f"redis-server did not start on {host}:{port}; see var/redis.")


def nginx_binary() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit(
        "nginx is needed as the front proxy: apt-get install nginx-light (or brew install nginx)."
    )


def render_nginx_conf(run_dir: Path, port: int, static_root: Path) -> Path:
    """The proxy's config: one address for pages, API, static files and WebSockets."""
    template = (BASE_DIR / "cryptobot" / "nginx.conf.template").read_text()
    mime = Path("/etc/nginx/mime.types")
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = (
        template.replace("{{USER}}", user)
        .replace("{{RUN_DIR}}", str(run_dir))
        .replace("{{PORT}}", str(port))
        .replace("{{BIND}}", os.environ.get("BIND_ADDRESS", "0.0.0.0"))
        .replace("{{STATIC_ROOT}}", str(static_root))
        .replace("{{MIME}}", f"include {mime};" if mime.exists() else "")
    )
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run_dir / "nginx-tmp" / sub).mkdir(parents=True, exist_ok=True)
    path = run_dir / "nginx.conf"
    path.write_text(conf)
    return path


def web_workers() -> int:
    """gunicorn's worker count: WEB_WORKERS, else one per core plus one (at least 2); see
    docs/ARCHITECTURE.md. The benchmarks read it from here too (bench/harness.py), so there
    is one rule."""
    return int(os.environ.get("WEB_WORKERS", str(max(2, (os.cpu_count() or 1) + 1))))


def process_commands(only: tuple[str, ...] = PROCESSES) -> dict[str, str]:
    """The shell command of each process in the layout."""
    run_dir = _run_dir()
    port = int(os.environ.get("PORT", "8000"))
    py = sys.executable
    bin_dir = Path(py).parent
    workers = web_workers()
    static_root = Path(os.environ.get("STATIC_ROOT", _var_dir() / "static"))
    commands: dict[str, str] = {}
    if "proxy" in only:
        conf = render_nginx_conf(run_dir, port, static_root)
        commands["proxy"] = f"{nginx_binary()} -p {run_dir} -c {conf}"
    if "http" in only:
        commands["http"] = (
            f"{bin_dir / 'gunicorn'} cryptobot.wsgi:application --bind unix:{run_dir}/http.sock"
            f" --umask 0o007 --workers {workers} --worker-class sync --backlog 2048"
            " --timeout 60 --graceful-timeout 10 --log-level warning"
        )
    if "ws" in only:
        # A twisted endpoint, not -u: its listen backlog (default 50) must absorb bursts of
        # WebSocket handshakes, or nginx answers 502 while clients reconnect en masse.
        commands["ws"] = (
            f"{bin_dir / 'daphne'} -e unix:{run_dir}/ws.sock:backlog=2048 --proxy-headers"
            " --websocket_timeout -1 --websocket_connect_timeout 30 -v 1"
            " cryptobot.asgi:application"
        )
    if "worker" in only:
        concurrency = os.environ.get("CELERY_CONCURRENCY", "2")
        commands["worker"] = (
            f"{bin_dir / 'celery'} -A cryptobot worker -l INFO -Q default,ticks,ml"
            f" --concurrency {concurrency} -n worker-{port}@%h"
        )
    if "beat" in only:
        commands["beat"] = (
            f"{bin_dir / 'celery'} -A cryptobot beat -l INFO"
            f" -S django_celery_beat.schedulers:DatabaseScheduler --pidfile={run_dir}/beat.pid"
        )
    return commands


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


def serve(only: tuple[str, ...]) -> int:
    """Run the processes in the foreground; Ctrl-C (or SIGTERM) stops every one of them."""
    from honcho.manager import Manager
    from honcho.printer import Printer

    for stale in ("http.sock", "ws.sock", "beat.pid"):
        (_run_dir() / stale).unlink(missing_ok=True)
    manager = Manager(Printer(sys.stdout, colour=sys.stdout.isatty()))
    for name, command in process_commands(only).items():
        manager.add_process(name, command, env=dict(os.environ), cwd=str(BASE_DIR))
    manager.loop()
    return manager.returncode or 0


def run() -> int:
    """make run: secret, Redis, migrations, static files, set-up, then every process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptobot.settings")
    ensure_secret_key()
    nginx_binary()
    redis_proc = ensure_redis()
    try:
        manage("migrate", "--noinput", "-v", "0")
        manage("collectstatic", "--noinput", "-v", "0")
        manage("setup")
        port = os.environ.get("PORT", "8000")
        print(
            f"\ncryptobot on http://127.0.0.1:{port}/  (admin /admin/, API docs /api/docs/,"
            f" health /health)\nDemo login: {os.environ.get('DEMO_USERNAME', 'demo')} /"
            f" {os.environ.get('DEMO_PASSWORD', 'demo-password-123')}\n",
            flush=True,
        )
        return serve(PROCESSES)
    finally:
        if redis_proc is not None:
            redis_proc.send_signal(signal.SIGTERM)
            redis_proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cryptobot.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="set up and start everything (make run)")
    serve_parser = sub.add_parser("serve", help="start processes only")
    serve_parser.add_argument("--only", default=",".join(PROCESSES))
    args = parser.parse_args(argv)
    if args.command == "run":
        return run()
    only = tuple(name.strip() for name in args.only.split(",") if name.strip())
    unknown = set(only) - set(PROCESSES)
    if unknown:
        parser.error(f"unknown process {sorted(unknown)}; choose from {', '.join(PROCESSES)}")
    ensure_secret_key()
    return serve(only)


if __name__ == "__main__":
    sys.exit(main())
