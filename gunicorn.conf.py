"""Gunicorn settings of the gateway: ``.venv/app/bin/gunicorn -c gunicorn.conf.py``.

Used by ``make run`` (one worker) and ``make run-production`` (several).
Where it listens and how many workers and threads come from the settings
(``GATEWAY_BIND``/``GATEWAY_PORT``, ``GATEWAY_WORKERS``, ``GATEWAY_THREADS``,
:mod:`bot.settings`), read and validated here, so that a production gateway
without its secrets stops before it forks.
"""
from bot.settings import load_settings

_settings = load_settings()

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
