"""cryptobot settings: every value comes from the environment (see .env.example).

Paper trading is the only mode; nothing here can reach real money.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import plotly

from cryptobot.lib.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-dev-key-only-for-debug" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PORT = env_int("PORT", 8000)

# HTTPS hardening; on behind a TLS-terminating proxy in production.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "cryptobot",
    "trading",
    "ml",
    "notifications",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cryptobot.urls"
WSGI_APPLICATION = "cryptobot.wsgi.application"
ASGI_APPLICATION = "cryptobot.asgi.application"
# Routes are exact, as on Binance: no slash-appending redirects.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context.shell",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        # Server-side binding plus a prepare threshold: psycopg prepares a statement on its
        # fifth run in a connection, so the hot paths (POST /trade's lock, load and writes)
        # skip parsing and planning (bench/bench_trade.py). Django turns preparing off by
        # default for transaction-pooling proxies; this bot connects to PostgreSQL directly.
        DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
        # Django's backend with a health check that needs no SELECT 1 round trip per request
        # while the connection is idle and quiet (cryptobot/postgres/base.py).
        DATABASES["default"]["ENGINE"] = "cryptobot.postgres"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "cryptobot.sqlite3",
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write
                # lock at BEGIN so concurrent writers queue instead of failing mid-way.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: cache, channel layer, celery broker ------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Short socket timeouts so a dead Redis shows in /health within a second or two.
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 1.0)
# Prefixes keep several installs (or the tests) apart on one Redis.
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "cryptobot")
CHANNEL_PREFIX = env_str("CHANNEL_PREFIX", "cryptobot")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "retry_on_timeout": False,
        },
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # The socket timeout must outlast channels_redis's 5 s BZPOPMIN, or idle
            # consumers die with "Timeout reading" (redis-py's default is also 5 s); and
            # redis-py's async pool stops at 100 connections, which a burst of handshakes
            # (group_add per socket) exceeds. Connections are opened on demand only.
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": 15,
                    "socket_connect_timeout": 2,
                    "max_connections": 2000,
                }
            ],
            "prefix": CHANNEL_PREFIX,
            # The default 100 drops messages in bursts (PERFORMANCE.md).
            "capacity": 2000,
            "expiry": 30,
        },
    }
}

# --- celery ---------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
# Longer than the longest task (training runs up to CELERY_LONG_TASK_TIME_LIMIT).
CELERY_LONG_TASK_TIME_LIMIT = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_LONG_TASK_TIME_LIMIT + 600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# Training is long CPU work: its own queue, so price polls and ticks never wait behind it.
CELERY_TASK_ROUTES = {"ml.training.run": {"queue": "ml"}}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_HEARTBEAT_SECONDS = 5

# --- auth and the REST API ------------------------------------------------------
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Fernet keys for secrets stored encrypted (newest first; cryptobot/lib/crypto.py).
ENCRYPTION_KEYS = env_str("ENCRYPTION_KEYS", "")

# Binance-compatible API (trading/binance): request weight per IP per minute, as Binance
# counts it, and orders per account. Past the weight limit: 429, and after
# BINANCE_BAN_AFTER_429 more refused requests in that minute, 418 for BINANCE_BAN_SECONDS.
BINANCE_SPOT_WEIGHT_PER_MINUTE = env_int("BINANCE_SPOT_WEIGHT_PER_MINUTE", 6000)
BINANCE_FUTURES_WEIGHT_PER_MINUTE = env_int("BINANCE_FUTURES_WEIGHT_PER_MINUTE", 2400)
BINANCE_SPOT_ORDERS_PER_10S = env_int("BINANCE_SPOT_ORDERS_PER_10S", 100)
BINANCE_FUTURES_ORDERS_PER_MINUTE = env_int("BINANCE_FUTURES_ORDERS_PER_MINUTE", 1200)
BINANCE_BAN_AFTER_429 = env_int("BINANCE_BAN_AFTER_429", 50)
BINANCE_BAN_SECONDS = env_int("BINANCE_BAN_SECONDS", 120)

THROTTLE_USER_RATE = env_str("THROTTLE_USER_RATE", "6000/min")
THROTTLE_ANON_RATE = env_str("THROTTLE_ANON_RATE", "120/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cryptobot.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "cryptobot.api.throttling.UserThrottle",
        "cryptobot.api.throttling.AnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": THROTTLE_USER_RATE, "anon": THROTTLE_ANON_RATE},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cryptobot.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "cryptobot API",
    "DESCRIPTION": "Market data, paper trading, strategies, backtests, ML and notifications. "
    "Every route is described in docs/API.md.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One schema name per shared choice set (used by several notifications fields).
    "ENUM_NAME_OVERRIDES": {
        "NotificationKindEnum": "notifications.catalogue.KIND_KEYS",
        "NotificationLevelEnum": "notifications.catalogue.LEVELS",
    },
}

# --- static files -------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # plotly.js comes from the plotly Python package: served locally, never from a CDN.
    ("vendor/plotly", Path(plotly.__file__).parent / "package_data"),
]

# --- i18n / time ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- logging --------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- the bot --------------------------------------------------------------------
EXCHANGE = env_str("EXCHANGE", "replay")
DEMO_USERNAME = env_str("DEMO_USERNAME", "demo")
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "demo-password-123")
# How long /health waits for each component before calling it down.
HEALTH_TIMEOUT_SECONDS = env_float("HEALTH_TIMEOUT_SECONDS", 1.0)
CSRF_FAILURE_VIEW = "cryptobot.api.errors.csrf_failure"
# Database sessions: the dashboard keeps working (and logging in) while Redis is down.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- market data ------------------------------------------------------------------
# Symbols polled for live prices (the catalogue lists more; admin can toggle "watched").
WATCHED_SYMBOLS = env_list(
    "WATCHED_SYMBOLS", ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]
)
# Replay exchange: how many times faster than real time the shipped history plays.
REPLAY_SPEED = env_float("REPLAY_SPEED", 1.0)
REPLAY_DATA_DIR = BASE_DIR / "trading" / "data"
PRICE_POLL_SECONDS = env_float("PRICE_POLL_SECONDS", 2.0)
# A price older than this (wall clock) is served with stale: true.
PRICE_STALE_SECONDS = env_float("PRICE_STALE_SECONDS", 15.0)
EXCHANGE_TIMEOUT_MS = env_int("EXCHANGE_TIMEOUT_MS", 10_000)
# Optional base URL for the ccxt exchange (e.g. another cryptobot's Binance-compatible API).
EXCHANGE_API_URL = env_str("EXCHANGE_API_URL", "")
# Candles per timeframe fetched on the first start so charts and indicators have data at once.
BACKFILL_CANDLES = env_int("BACKFILL_CANDLES", 1000)

# --- paper trading ------------------------------------------------------------------
PAPER_INITIAL_BALANCE = env_str("PAPER_INITIAL_BALANCE", "10000")
# Binance's VIP 0 commission rates (fractions).
FEE_SPOT_MAKER = env_str("FEE_SPOT_MAKER", "0.001")
FEE_SPOT_TAKER = env_str("FEE_SPOT_TAKER", "0.001")
FEE_FUTURES_MAKER = env_str("FEE_FUTURES_MAKER", "0.0002")
FEE_FUTURES_TAKER = env_str("FEE_FUTURES_TAKER", "0.0005")
LIQUIDATION_FEE_RATE = env_str("LIQUIDATION_FEE_RATE", "0.0125")
# How market orders are priced: "book" walks the order book, "bps" a fixed slip, "off".
SLIPPAGE_MODE = env_str("SLIPPAGE_MODE", "book")
SLIPPAGE_BPS = env_str("SLIPPAGE_BPS", "5")
# The simulated funding rate charged every 8 h (00/08/16 UTC) per symbol (fraction).
FUNDING_RATE = env_str("FUNDING_RATE", "0.0001")

# --- machine learning ---------------------------------------------------------------
# Trained model files (written only by our training; sha256-checked on every load).
ML_ARTIFACT_DIR = Path(env_str("ML_ARTIFACT_DIR", str(VAR_DIR / "models")))
# Validated candle uploads waiting for (or kept after) their retraining.
ML_UPLOAD_DIR = Path(env_str("ML_UPLOAD_DIR", str(VAR_DIR / "uploads")))
# Limits of an uploaded CSV of candles (upload_and_retrain and predict_batch).
ML_UPLOAD_MAX_BYTES = env_int("ML_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
ML_UPLOAD_MAX_ROWS = env_int("ML_UPLOAD_MAX_ROWS", 300_000)
# The model `make run` trains first, on the shipped history, so predictions exist at once.
ML_INITIAL_SYMBOL = env_str("ML_INITIAL_SYMBOL", "BTCUSDT")
ML_INITIAL_TIMEFRAME = env_str("ML_INITIAL_TIMEFRAME", "1h")
# Beat retrains every shared active model this often (hours; 0 turns it off).
ML_RETRAIN_HOURS = env_float("ML_RETRAIN_HOURS", 24.0)

# --- notifications and e-mail -------------------------------------------------------
# The dashboard's address as users reach it: e-mails link back to it.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")
# SMTP hosts resolving to loopback, private, link-local or reserved addresses are refused
# unless listed here: comma-separated host names or CIDRs (e.g. mail.lan,10.0.0.0/8).
SMTP_ALLOWED_HOSTS = env_str("SMTP_ALLOWED_HOSTS", "")
# Seconds before an SMTP connection or answer is given up on.
EMAIL_TIMEOUT_SECONDS = env_float("EMAIL_TIMEOUT_SECONDS", 10.0)
# E-mails per user per hour; past it notifications are held and sent as one digest.
EMAIL_RATE_LIMIT_PER_HOUR = env_int("EMAIL_RATE_LIMIT_PER_HOUR", 20)
EMAIL_DIGEST_MINUTES = env_int("EMAIL_DIGEST_MINUTES", 15)
# Transient SMTP failures are retried: base * 2^(attempt-1) seconds (jittered), capped.
EMAIL_RETRY_BASE_SECONDS = env_float("EMAIL_RETRY_BASE_SECONDS", 30.0)
EMAIL_RETRY_MAX_SECONDS = env_float("EMAIL_RETRY_MAX_SECONDS", 900.0)
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 8)
# How often beat's system watch checks the price feed and the workers (seconds).
SYSTEM_WATCH_SECONDS = env_float("SYSTEM_WATCH_SECONDS", 30.0)
