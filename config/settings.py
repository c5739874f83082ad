"""Settings for Textdesk: one file, every knob an environment variable with a working default.

Without any configuration Textdesk runs on SQLite under ``var/`` with the built-in carrier
simulator. ``DATABASE_URL`` switches to PostgreSQL; the ``TWILIO_*`` variables enable Twilio.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import envbool, envfloat, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("TEXTDESK_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use SECRET_KEY when given; otherwise keep a generated one under var/ across restarts."""
    configured = envstr("SECRET_KEY")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        # Created readable by its owner only, from the first byte.
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)

# The address at which Twilio and browsers reach this server. Webhook signatures are checked
# against URLs built from it, so it keeps working behind a proxy that rewrites Host or scheme.
TEXTDESK_PUBLIC_URL = envstr(
    "TEXTDESK_PUBLIC_URL", f"http://127.0.0.1:{envint('PORT', 8000)}"
).rstrip("/")
_public = urlsplit(TEXTDESK_PUBLIC_URL)
if _public.scheme not in ("http", "https") or not _public.hostname:
    raise ImproperlyConfigured(
        f"TEXTDESK_PUBLIC_URL must be an http(s) URL, not {TEXTDESK_PUBLIC_URL!r}"
    )

ALLOWED_HOSTS = [*envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]"), _public.hostname]
CSRF_TRUSTED_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]
if _public.scheme == "https":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "textdesk.core",
    "textdesk.accounts",
    "textdesk.inboxes",
    "textdesk.contacts",
    "textdesk.conversations",
    "textdesk.messaging",
    "textdesk.providers.simulator",
    "textdesk.live",
    "textdesk.compliance",
    "textdesk.media",
    "textdesk.campaigns",
    "textdesk.events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "textdesk.accounts.middleware.TeamTimezoneMiddleware",
    "textdesk.live.middleware.LiveSinceMiddleware",
    "textdesk.core.middleware.NeverCacheSignedInPagesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "textdesk.inboxes.context_processors.inbox_switcher",
            ],
        },
    },
]


def _databases() -> dict:
    url = envstr("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0))
        if config["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured(
                "DATABASE_URL must be a postgres:// URL; leave it unset for SQLite"
            )
        return {"default": config}
    sqlite_path = VAR_DIR / "textdesk.sqlite3"
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": sqlite_path,
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
                # on the busy timeout instead of one failing with "database is locked" mid-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Tests use a file too (one per xdist worker) so that WAL, locking and concurrent
            # access behave as they do in production.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# Served by the app itself (ServeStatic, WhiteNoise's ASGI-aware successor) straight from the
# app and project folders: no collectstatic step before `make run`.
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}

# Live updates. Without REDIS_URL the channel layer lives in each process's memory, and each web
# process relays events written by other processes (the worker) from the database.
REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": envstr("REDIS_PREFIX", "textdesk")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
LIVE_RELAY_ENABLED = not REDIS_URL
LIVE_RELAY_POLL_SECONDS = envfloat("LIVE_RELAY_POLL_SECONDS", 0.2, minimum=0.01, maximum=10)

# --- Textdesk ---------------------------------------------------------------------------------

# Region assumed for numbers typed without a country code (ISO 3166 code, e.g. US, GB, CA).
TEXTDESK_DEFAULT_REGION = envstr("TEXTDESK_DEFAULT_REGION", "US").upper()
# Time zone for new teams; pages show times in the viewer's team zone.
TEXTDESK_DEFAULT_TIME_ZONE = envstr("TEXTDESK_DEFAULT_TIME_ZONE", "America/New_York")

# Images attached to texts (uploads, and inbound MMS fetched from the provider). Served to the
# provider at an unguessable URL; the folder must survive restarts and upgrades.
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploaded contact files wait here until imported (never served to anyone).
IMPORTS_ROOT = Path(envstr("IMPORTS_ROOT", str(VAR_DIR / "imports")))
# Inbound media are fetched only from public addresses (no SSRF into the local network). Set this
# for a provider or test server on loopback or a private network; link-local addresses (cloud
# metadata), multicast and unspecified addresses stay refused even then.
MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES = envbool("MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES", False)

TWILIO_ACCOUNT_SID = envstr("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = envstr("TWILIO_AUTH_TOKEN")
TWILIO_API_BASE = envstr("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
TWILIO_TIMEOUT_SECONDS = envfloat("TWILIO_TIMEOUT_SECONDS", 15.0, minimum=0.1, maximum=120)

# The simulator's delivery receipts arrive after this delay; this share of them reports failure.
SIMULATOR_RECEIPT_DELAY_SECONDS = envfloat(
    "SIMULATOR_RECEIPT_DELAY_SECONDS", 1.0, minimum=0, maximum=3600
)
SIMULATOR_FAILURE_RATE = envfloat("SIMULATOR_FAILURE_RATE", 0.0, minimum=0, maximum=1)

# How often an idle worker looks for new work, and how long a claimed message stays reserved
# for the worker that claimed it before another may take it over.
WORKER_POLL_SECONDS = envfloat("WORKER_POLL_SECONDS", 0.25, minimum=0.01, maximum=60)
WORKER_CLAIM_SECONDS = envint("WORKER_CLAIM_SECONDS", 120)
# Workers beat every WORKER_HEARTBEAT_SECONDS; one silent for WORKER_DEAD_AFTER_SECONDS is
# presumed dead and its claims are released (its texts are looked up before being sent again).
WORKER_HEARTBEAT_SECONDS = envfloat("WORKER_HEARTBEAT_SECONDS", 1.0, minimum=0.05, maximum=60)
WORKER_DEAD_AFTER_SECONDS = envfloat("WORKER_DEAD_AFTER_SECONDS", 5.0, minimum=0.2, maximum=600)
# A claim must outlive the slowest provider call (httpx applies the timeout to connecting,
# writing and reading in turn), or a second worker could take over a send still in flight.
if WORKER_CLAIM_SECONDS < 3 * TWILIO_TIMEOUT_SECONDS + 30:
    raise ImproperlyConfigured(
        f"WORKER_CLAIM_SECONDS ({WORKER_CLAIM_SECONDS}) must be at least "
        f"3 x TWILIO_TIMEOUT_SECONDS + 30 ({3 * TWILIO_TIMEOUT_SECONDS + 30:.0f})"
    )

# Email: notifications to the addresses a team chooses (opt-outs, texts from unknown numbers).
# Without EMAIL_HOST they are written to the log instead.
EMAIL_HOST = envstr("EMAIL_HOST")
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 15
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Textdesk <textdesk@localhost>")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
# How long message bodies are kept (days; 0 keeps them forever). The worker redacts older ones.
MESSAGE_RETENTION_DAYS = envint("MESSAGE_RETENTION_DAYS", 0)
# The widest sending window an inbox may have (recipient's local time); inbox admins may only
# narrow it. Bulk texts wait for it; one-to-one replies to someone who just texted do not.
SENDING_WINDOW_EARLIEST = envstr("SENDING_WINDOW_EARLIEST", "08:00")
SENDING_WINDOW_LATEST = envstr("SENDING_WINDOW_LATEST", "21:00")
# A first text (not a reply to someone who texted in the last day) outside the inbox's window,
# in the recipient's time, needs the sender to tick "send anyway".
QUIET_HOURS_FOR_FIRST_TEXTS = envbool("QUIET_HOURS_FOR_FIRST_TEXTS", True)
