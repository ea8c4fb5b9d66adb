"""Configuration, read from the environment once at start-up.

Production values are the default and everything fails closed: debug is off unless
``LEGIONARY_DEBUG`` says otherwise, there is no default secret key (``legionary init`` writes one
under ``LEGIONARY_HOME``), cookies are secure and HTTPS is required unless the operator says the
server only listens on loopback (``LEGIONARY_HTTPS=0``, which ``make run`` sets).

This module must never hold a secret in code or print one.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

# Defined beside the pre-start checks: when this module fails to import, importing it again to
# name the exception would raise it a second time.
from legionary.settings_check import ConfigurationError


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be 1 or 0 (got {raw!r}).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number (got {raw!r}).") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent

LEGIONARY_HOME = Path(os.environ.get("LEGIONARY_HOME") or "./.legionary").expanduser().absolute()
LEGIONARY_KEYRING = Path(os.environ.get("LEGIONARY_KEYRING") or LEGIONARY_HOME / "keyring").expanduser().absolute()
LEGIONARY_UPLOADS = LEGIONARY_HOME / "uploads"
LEGIONARY_AUDIT_KEY = (
    Path(os.environ.get("LEGIONARY_AUDIT_KEY") or LEGIONARY_KEYRING.parent / "audit-signing.key")
    .expanduser()
    .absolute()
)
# The newest signed audit checkpoint, also kept outside the database (legionary.audit.kept_checkpoint).
LEGIONARY_AUDIT_CHECKPOINT = (
    Path(os.environ.get("LEGIONARY_AUDIT_CHECKPOINT") or LEGIONARY_KEYRING.parent / "audit-checkpoint")
    .expanduser()
    .absolute()
)
SECRET_KEY_FILE = (
    Path(os.environ.get("LEGIONARY_SECRET_KEY_FILE") or LEGIONARY_HOME / "secret_key").expanduser().absolute()
)

DEBUG = env_bool("LEGIONARY_DEBUG", False)
# HTTPS is on unless the operator states the server is only reachable on loopback.
LEGIONARY_HTTPS = env_bool("LEGIONARY_HTTPS", True)


def _read_secret_key() -> str:
    if SECRET_KEY_FILE.exists():
        key = SECRET_KEY_FILE.read_text(encoding="ascii").strip()
        if len(key) < 50:
            raise ConfigurationError(
                f"The secret key in {SECRET_KEY_FILE} is too short; delete it and run `legionary init`."
            )
        return key
    # Not initialised yet: `legionary init` writes the file before Django is set up, and every
    # other command refuses to run (legionary.cli checks). A random throwaway key means nothing
    # signed with it survives, which is the safe failure.
    return "uninitialised-" + os.urandom(32).hex()


SECRET_KEY = _read_secret_key()

ALLOWED_HOSTS = env_list("LEGIONARY_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("LEGIONARY_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    # GOV.UK and MOJ components are small templates of ours under templates/components/, form fields
    # the filters of core/templatetags/govuk_forms.py (docs/interface.md).
    "legionary.core",
    "legionary.access",
    "legionary.audit",
    "legionary.identity",
    "legionary.intake",
    "legionary.vetting",
    "legionary.training",
    "legionary.units",
    "legionary.reports",
    "legionary.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Methods, the API over plain HTTP, Cache-Control, Clear-Site-Data, refusal logging.
    "legionary.middleware.SecurityPolicyMiddleware",
    "legionary.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle and absolute session limits (after messages: a timed-out page says why).
    "legionary.access.sessions.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "legionary.access.middleware.AccessPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
    # After a successful write, the dashboard's rollup is refreshed if it fell behind (no timer needed).
    "legionary.reports.freshness.RefreshAfterWritesMiddleware",
]

ROOT_URLCONF = "legionary.urls"
WSGI_APPLICATION = "legionary.wsgi.application"
AUTH_USER_MODEL = "access.Staff"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "legionary.access.context_processors.staff_context",
            ],
        },
    },
]


def _is_local(host: str) -> bool:
    """A Unix socket folder (empty or absolute path) or a loopback address."""
    return host == "" or host.startswith("/") or host in {"localhost", "::1"} or host.startswith("127.")


def _password_needs_encoding(url: str) -> bool:
    """True when the URL's password holds a character that ends or splits the userinfo part.

    The userinfo is everything between ``://`` and the last ``@`` before the host; a password may
    hold ``%XX`` escapes but no raw ``/ @ : # ? [ ]`` (RFC 3986), and no ``%`` not followed by two
    hex digits.
    """
    rest = url.partition("://")[2]
    userinfo, at, _host = rest.rpartition("@")
    if not at:
        return False
    _user, colon, password = userinfo.partition(":")
    if not colon:
        return "/" in userinfo or "@" in userinfo
    return any(c in password for c in "/@#?[]") or re.search(r"%(?![0-9A-Fa-f]{2})", password) is not None


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        if _password_needs_encoding(url):
            raise ConfigurationError(
                "The password in DATABASE_URL holds a character that must be percent-encoded (/ as %2F, @ as %40, "
                "# as %23, ? as %3F, % as %25). Encode it, for example with "
                "python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=\"\"))' PASSWORD."
            )
        try:
            config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        except Exception:  # noqa: BLE001 — the parser raises several types; the URL itself may hold a password
            raise ConfigurationError(
                "DATABASE_URL is not a database URL; use postgres://USER:PASSWORD@HOST:PORT/NAME."
            ) from None
        if config.get("ENGINE") != "django.db.backends.postgresql":
            raise ConfigurationError("DATABASE_URL must be a PostgreSQL URL (postgres://...).")
        options = config.setdefault("OPTIONS", {})
        options["connect_timeout"] = env_int("LEGIONARY_DB_CONNECT_TIMEOUT", 5)
        # No JIT compilation: the service's queries read a page at a time, but where the planner
        # overestimates a filter (a misjudged correlation) JIT compiled them for 20-50 ms to run for
        # 1-5 (docs/benchmarks.md, "My work" at a million people). Batch verbs lose nothing measurable.
        options["options"] = " ".join(filter(None, [str(options.get("options") or ""), "-c jit=off"]))
        # A database on another machine is reached over TLS with its certificate checked, never
        # in clear (ASVS V12.3.1, V12.3.2), unless the URL says otherwise (?sslmode=...).
        if "sslmode" not in options and not _is_local(str(config.get("HOST") or "")):
            options["sslmode"] = "verify-full"
        config["ATOMIC_REQUESTS"] = False
        config["TEST"] = {"NAME": os.environ.get("LEGIONARY_TEST_DB_NAME") or None}
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": LEGIONARY_HOME / "legionary.sqlite3",
        "OPTIONS": {
            # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at
            # the start of a transaction so two writers queue instead of failing half-way.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "legionary.views.csrf_failure"
LOGIN_URL = "access:login"
LOGIN_REDIRECT_URL = "access:my-work"

# Lockout: five failures for one username from one client lock that username for that client for
# 30 minutes; the same username from another client, or another username behind the same office
# address, is not locked (a list inside the list: both parameters together).
AXES_FAILURE_LIMIT = env_int("LEGIONARY_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LEGIONARY_LOGIN_COOLOFF_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "access/locked.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "code"]
AXES_USERNAME_FORM_FIELD = "username"
# The reverse proxies whose X-Forwarded-For is believed: addresses or networks, comma-separated
# (docs/operations.md). The older LEGIONARY_PROXY_COUNT=N, which believed the header from anyone,
# now means "the proxy is on this machine" (loopback) when no list is given.
LEGIONARY_TRUSTED_PROXIES = env_list("LEGIONARY_TRUSTED_PROXIES", [])
if not LEGIONARY_TRUSTED_PROXIES and env_int("LEGIONARY_PROXY_COUNT", 0) > 0:
    LEGIONARY_TRUSTED_PROXIES = ["127.0.0.0/8", "::1/128"]
try:
    for _proxy in LEGIONARY_TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError as _bad_proxy:
    raise ConfigurationError(
        f"LEGIONARY_TRUSTED_PROXIES: {_bad_proxy}. Give addresses or networks separated by commas."
    ) from None
# The lockout and the public limits share one idea of the client's address (access.addresses).
AXES_CLIENT_IP_CALLABLE = "legionary.access.addresses.axes_client_address"
# Applications accepted per client (a keyed hash of its address) per hour, form and API together.
LEGIONARY_APPLY_LIMIT = env_int("LEGIONARY_APPLY_LIMIT", 20)
# Purpose-bound opening of sealed data (identity.openings, docs/security.md): "default" applies to
# every legion, "legions" overrides it per legion code. break_glass: "approval" (a security officer
# approves within approval_minutes) or "alert" (goes through at once, alerting him); allowance:
# openings per role per day before further ones need approval like break-glass.
LEGIONARY_OPENING_POLICY: dict[str, Any] = {
    "default": {
        "break_glass": "approval",
        "approval_minutes": 30,
        "allowance": {"investigator": 30, "ci_officer": 20, "unit_commander": 10, "security_officer": 10},
    },
    "legions": {},
}
# Or from a JSON file of the same shape (an operator's, without editing this module): its "default"
# replaces the one above key by key (its allowances role by role), its "legions" are used as they
# are. Checked at start-up.
if os.environ.get("LEGIONARY_OPENING_POLICY_FILE"):
    from legionary.settings_check import opening_policy_from_file

    _policy: dict[str, Any] = opening_policy_from_file(os.environ["LEGIONARY_OPENING_POLICY_FILE"])
    _default: dict[str, Any] = {**LEGIONARY_OPENING_POLICY["default"], **_policy.get("default", {})}
    _default["allowance"] = {
        **LEGIONARY_OPENING_POLICY["default"]["allowance"],
        **_policy.get("default", {}).get("allowance", {}),
    }
    LEGIONARY_OPENING_POLICY = {"default": _default, "legions": _policy.get("legions", {})}

# Step-up (access.stepup, docs/security.md): the authenticator code is asked again before an
# opening of sealed data, or the approval of a break-glass request, once the last one is this many
# minutes old (0: before every opening).
LEGIONARY_STEP_UP_MINUTES = env_int("LEGIONARY_STEP_UP_MINUTES", 10)
if LEGIONARY_STEP_UP_MINUTES < 0:
    raise ConfigurationError("LEGIONARY_STEP_UP_MINUTES must be 0 or more.")
# The openings monitor (identity.monitor, docs/security.md, "Openings monitor"): an opening outside the working
# hours (HH:MM-HH:MM, end exclusive; an end before the start is a night shift) or on a day that is not
# a working day (ISO weekdays, 1 = Monday: "1-5", "1-6" or "1,2,3,4,5") of the time zone is listed
# as out of hours, and so is every person whose sealed data more than DISTINCT_STAFF staff opened
# in the period. Checked here so that a mistyped value stops the service at start-up.
LEGIONARY_MONITOR_WORKING_HOURS = os.environ.get("LEGIONARY_MONITOR_WORKING_HOURS") or "08:00-20:00"
LEGIONARY_MONITOR_WORKING_DAYS = os.environ.get("LEGIONARY_MONITOR_WORKING_DAYS") or "1-5"
LEGIONARY_MONITOR_TIME_ZONE = os.environ.get("LEGIONARY_MONITOR_TIME_ZONE") or "Europe/Kyiv"
LEGIONARY_MONITOR_DISTINCT_STAFF = env_int("LEGIONARY_MONITOR_DISTINCT_STAFF", 3)


def _check_monitor_settings() -> None:
    from legionary.identity.monitor_settings import MonitorSettingError, parse_days, parse_hours, parse_zone

    try:
        parse_hours(LEGIONARY_MONITOR_WORKING_HOURS)
        parse_days(LEGIONARY_MONITOR_WORKING_DAYS)
        parse_zone(LEGIONARY_MONITOR_TIME_ZONE)
    except MonitorSettingError as exc:
        raise ConfigurationError(f"LEGIONARY_MONITOR_*: {exc}") from None
    if LEGIONARY_MONITOR_DISTINCT_STAFF < 1:
        raise ConfigurationError("LEGIONARY_MONITOR_DISTINCT_STAFF must be 1 or more.")


_check_monitor_settings()

OTP_TOTP_ISSUER = "legionary"
OTP_TOTP_THROTTLE_FACTOR = 1

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("uk", _("Ukrainian")), ("ru", _("Russian"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Host-only and HTTPS-only like the session and CSRF cookies (ASVS V3.3.1, V3.3.3).
LANGUAGE_COOKIE_NAME = "__Host-legionary-language" if LEGIONARY_HTTPS else "legionary-language"
LANGUAGE_COOKIE_SECURE = LEGIONARY_HTTPS
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
# Static files are served by whitenoise straight from the package, so a web host needs no
# collectstatic step and no writable static folder.
STATIC_ROOT = PACKAGE_DIR / "static"
STATICFILES_DIRS: list[Path] = []

MEDIA_ROOT = LEGIONARY_UPLOADS
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Cookies and transport.
SESSION_COOKIE_SECURE = LEGIONARY_HTTPS
CSRF_COOKIE_SECURE = LEGIONARY_HTTPS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = env_int("LEGIONARY_SESSION_SECONDS", 8 * 3600)
# A staff sign-in also ends after this long without a request (legionary.access.sessions).
LEGIONARY_SESSION_IDLE_SECONDS = env_int("LEGIONARY_SESSION_IDLE_SECONDS", 30 * 60)
if LEGIONARY_SESSION_IDLE_SECONDS < 60 or SESSION_COOKIE_AGE < 60:
    raise ConfigurationError("LEGIONARY_SESSION_IDLE_SECONDS and LEGIONARY_SESSION_SECONDS must be 60 or more.")
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_NAME = "__Host-legionary-session" if LEGIONARY_HTTPS else "legionary-session"
CSRF_COOKIE_NAME = "__Host-legionary-csrf" if LEGIONARY_HTTPS else "legionary-csrf"
SECURE_SSL_REDIRECT = LEGIONARY_HTTPS
SECURE_HSTS_SECONDS = 31536000 if LEGIONARY_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = LEGIONARY_HTTPS
SECURE_HSTS_PRELOAD = LEGIONARY_HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": under no-referrer browsers send "Origin: null" with our own
# form posts, which Django's CSRF check rightly refuses. No referrer ever leaves for another site.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("LEGIONARY_BEHIND_PROXY", False):
    # Only trust the header when a reverse proxy that sets it is the only way in.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The API is not redirected from plain HTTP: SecurityPolicyMiddleware refuses it with a problem,
# so that a client sending in clear finds out (ASVS V4.1.2). Pages are redirected for browsers.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^api/"]
# Flash messages live in the session, not in a cookie of their own (no unprefixed cookie).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Strict CSP: our own scripts and styles only, nothing inline, no third-party origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

LOG_DIR = LEGIONARY_HOME / "logs"
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LEGIONARY_LOG_LEVEL", "WARNING")},
    "loggers": {
        # Django logs a request's details on errors; they can include form fields, so they are
        # kept at WARNING and our error views never echo input.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        # Refused requests (403, 405, 429): legionary.middleware.SecurityPolicyMiddleware.
        "legionary.security": {"level": "WARNING"},
    },
}

# Audit checkpoints: a new signed checkpoint at least every N entries or M minutes.
LEGIONARY_CHECKPOINT_EVERY_ENTRIES = env_int("LEGIONARY_CHECKPOINT_EVERY_ENTRIES", 1000)
LEGIONARY_CHECKPOINT_EVERY_MINUTES = env_int("LEGIONARY_CHECKPOINT_EVERY_MINUTES", 60)
LEGIONARY_LOG_ORIGIN = os.environ.get("LEGIONARY_LOG_ORIGIN", "legionary.local/audit")

# Reports: for viewers who may not unseal identities, counts from 1 to N-1 are shown as "< N", so
# that a chart or table cannot single out a person.
LEGIONARY_SMALL_NUMBER_THRESHOLD = env_int("LEGIONARY_SMALL_NUMBER_THRESHOLD", 5)

# Reports: the running service refreshes the dashboard's rollup itself (reports.freshness), in a
# background thread, once changes were recorded after it: at once when the last refresh took less
# than LEGIONARY_REPORT_QUICK_SECONDS (a small instance), else once the figures are older than
# LEGIONARY_REPORT_MAX_AGE_MINUTES. "off" leaves it to `legionary report refresh` (a timer).
LEGIONARY_REPORT_AUTO_REFRESH = os.environ.get("LEGIONARY_REPORT_AUTO_REFRESH", "background").strip() or "background"
if LEGIONARY_REPORT_AUTO_REFRESH not in {"background", "inline", "off"}:
    raise ConfigurationError(
        f"LEGIONARY_REPORT_AUTO_REFRESH must be background, inline or off (got {LEGIONARY_REPORT_AUTO_REFRESH!r})."
    )
LEGIONARY_REPORT_MAX_AGE_MINUTES = env_int("LEGIONARY_REPORT_MAX_AGE_MINUTES", 5)
LEGIONARY_REPORT_QUICK_SECONDS = env_int("LEGIONARY_REPORT_QUICK_SECONDS", 5)
