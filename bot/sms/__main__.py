"""``python -m bot.sms [--once]``: the SMS sender process (see :mod:`bot.sms`)."""
from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.sms.sender import OutboxSender

logger = logging.getLogger("bot.sms")


def run(settings: Settings, stop: threading.Event, *, once: bool = False) -> int:
    """Poll until ``stop`` is set (or one pass with ``once``); the exit status."""
    sender = OutboxSender(settings)
    if not sender.enabled:
        logger.warning("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are not "
                       "all set: the outbox is kept, nothing is sent")
        if not once:
            stop.wait()
        return 0
    logger.info("SMS sender started (every %d s, at most %d attempts per SMS)",
                settings.sms_poll_seconds, settings.sms_max_attempts)
    while not stop.is_set():
        try:
            done = sender.run_once()
        except SQLAlchemyError:  # the database is away: try again at the next poll
            logger.exception("SMS sender: the outbox could not be read")
            if once:
                return 1
        else:
            if done.sent or done.retried or done.failed or done.unknown or done.expired:
                logger.info("SMS sender: %d sent, %d to retry, %d failed, %d unknown, "
                            "%d claims expired", done.sent, done.retried, done.failed,
                            done.unknown, done.expired)
        if once:
            break
        stop.wait(settings.sms_poll_seconds)
    logger.info("SMS sender stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sms", description=(
        "Send the SMS waiting in the outbox through Twilio, retrying with back-off."))
    parser.add_argument("--once", action="store_true",
                        help="one pass over the outbox, then exit (for cron)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        parser.exit(2, f"python -m bot.sms: {exc}\n")
    # JSON lines in production, personal data masked (bot/logs.py)
    configure_logging(settings.log_style, settings.log_level, settings.secret_key)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("SMS sender: %s, stopping after the attempt in progress",
                    signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return run(settings, stop, once=args.once)


if __name__ == "__main__":
    raise SystemExit(main())
