"""The SMS sender: retries what the gateway could not send at once (issue 10).

``python -m bot.sms`` polls the ``sms_outbox`` table every
``SMS_POLL_SECONDS`` and makes one attempt at each SMS that is due; SIGTERM or
SIGINT finish the attempt in progress and stop. ``python -m bot.sms --once``
makes one pass and exits (for a cron job). Any number of senders may run: a
row is claimed by one at a time (:mod:`bot.records.sms_outbox`).

- :mod:`.sender`: one claimed attempt (:class:`~bot.sms.sender.OutboxSender`),
  also used by the gateway for the first attempt;
- :mod:`.policy`: which Twilio errors are retried, which are final, which
  leave the message's fate unknown; the back-off.
"""
