"""Gunicorn settings of the gateway: ``.venv/app/bin/gunicorn -c gunicorn.conf.py``.

Used by ``make run`` (one worker) and ``make run-production`` (several).
Where it listens and how many workers and threads come from the settings
(``GATEWAY_BIND``/``GATEWAY_PORT``, ``GATEWAY_WORKERS``, ``GATEWAY_THREADS``,
:mod:`bot.settings`), read and validated here, so that a production gateway
without its secrets stops before it forks.
"""
import os

from bot.settings import load_settings

_settings = load_settings()

# Metrics across workers (prometheus-client's multiprocess mode, bot/metrics.py):
# each worker writes its values under PROMETHEUS_MULTIPROC_DIR, which must exist
# before bot.metrics is imported; on_starting empties it, child_exit forgets a
# worker that ended. Unset: each process counts alone (one worker, `make run`).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from bot.logs import gunicorn_logconfig_dict  # noqa: E402
from bot.metrics import child_exit, on_starting  # noqa: E402,F401 - gunicorn hooks

# JSON lines (production) or text, personal data masked, access lines without
# query strings or client addresses (bot/logs.py); LOG_FORMAT, LOG_LEVEL.
logconfig_dict = gunicorn_logconfig_dict(_settings.log_style, _settings.log_level)

wsgi_app = "bot.gateway:create_app()"
bind = _settings.gateway_bind
# Threaded workers: a turn mostly waits for Rasa (up to the voice deadline,
# VOICE_TURN_DEADLINE_MS, or CHAT_RASA_TIMEOUT_SECONDS), so threads, not
# processes, carry the concurrency.
worker_class = "gthread"
workers = _settings.gateway_workers
threads = _settings.gateway_threads
# No preload: create_app opens database engines and Redis clients, whose
# sockets must not be shared by forked workers. Each worker builds its own app.
preload_app = False
# A gthread worker reports to the master between requests even while its
# threads wait, so this only catches a stuck worker; it is not a request limit.
timeout = 30
# On SIGTERM a worker stops accepting and finishes what it has: the longest
# turn (chat, 8 s for Rasa) fits, and Twilio gives up on a webhook after 15 s.
graceful_timeout = 15
keepalive = 5
# No control socket: its default path (~/.gunicorn/gunicorn.ctl) is one per user,
# shared by every gateway on the machine; signals manage the master instead.
control_socket_disable = True
