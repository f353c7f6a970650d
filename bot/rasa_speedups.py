"""Rasa-side speed-ups that change nothing Rasa decides, says or refuses.

Installed in every Rasa process that serves the gateway's channels (the
package :mod:`bot.channels` calls :func:`install_speedups` on import); a
no-op where Rasa is not installed (the gateway's environment).

- **The action server's answer, validated once per schema, not once per
  call.** Rasa 3.6's ``RemoteAction._validate_action_result`` calls
  ``jsonschema.validate(answer, spec)`` for every answer of the action
  server. ``jsonschema.validate`` first checks the *schema* itself against
  its meta-schema (Draft 2020-12, with ``$dynamicRef``), which costs
  tens of milliseconds on this machine every time, for a schema that never
  changes; the answer itself takes about one. Measured with ``py-spy`` under
  the load benchmark (README "Benchmark"), that check was about 30 % of Rasa's
  time per turn. Here the schema is checked once and its validator kept; an
  answer without an error passes as before, and an answer with one is handed
  to Rasa's own method, which raises the same error with the same message.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6."
_MARK = "_hotline_speedup"


def install_speedups() -> bool:
    """Install every speed-up once; False where Rasa is absent or not 3.6."""
    try:
        import rasa
        from rasa.core.actions.action import RemoteAction
    except ImportError:
        return False
    if not str(getattr(rasa, "__version__", "")).startswith(SUPPORTED_RASA):
        logger.warning("Rasa %s: speed-ups not installed (made for %sx)",
                       getattr(rasa, "__version__", "?"), SUPPORTED_RASA)
        return False
    current = RemoteAction._validate_action_result
    if not getattr(current, _MARK, False):
        RemoteAction._validate_action_result = validating_once(current)
    return True


def validating_once(rasa_method: Callable[[Any, dict], bool]) -> Callable[[Any, dict], bool]:
    """``_validate_action_result`` with the schema's validator built once per action class."""
    from jsonschema import validators

    built: dict[type, Any] = {}

    def validate_action_result(action: Any, result: dict) -> bool:
        validator = built.get(type(action))
        if validator is None:
            spec = action.action_response_format_spec()
            cls = validators.validator_for(spec)
            cls.check_schema(spec)  # once, as jsonschema.validate does on every call
            validator = built[type(action)] = cls(spec)
        if validator.is_valid(result):
            return True
        return rasa_method(action, result)  # Rasa raises its own error and message

    setattr(validate_action_result, _MARK, True)
    validate_action_result.__doc__ = rasa_method.__doc__
    return validate_action_result
