"""Text that seems to carry a query password or an identifier: kept away from Rasa.

The password and the identifiers belong in the secure step (the chat's form,
the phone's keypad), never in what the assistant hears: Rasa's tracker keeps
every message. Both channels ask here before they forward a person's words:

- :func:`looks_like_secret`: the web chat's rule, stricter while its
  verification form is open;
- :func:`spoken_secret`: the phone's rule for speech (the keypad step takes no
  speech, so it is the rule outside it), stricter about identifiers because
  recognition mishears digits.

Text is read as the assistant's NLU would read it
(:func:`bot.nlu.normalize.normalize_text`: full-width and Chinese digits,
grouped digits joined), and once more with every space, dash or dot between
two digits dropped ("1 2 3 4 5 6"), so grouping a number never lets it through.
"""

from __future__ import annotations

import re

from bot.nlu.normalize import normalize_text
from bot.records.identifiers import classify_identifier

_NUMBER_RUN_RE = re.compile(r"[0-9]{6,}[Xx]?")
_PASSWORD_WORD_RE = re.compile(r"密码|密碼|password", re.I)
# Spaces, dashes and dots between two digits (or before the ID's check letter X).
_DIGIT_GAP_RE = re.compile(r"(?<=[0-9])[\s\-_.·‐‑–—]+(?=[0-9Xx])")
# Shaped like a resident ID (15 to 19 characters, an X last): with a digit
# misheard, dropped or doubled, or a wrong check character, it is still one.
_ID_SHAPED_RE = re.compile(r"[0-9]{14,18}[0-9Xx]")


def _number_runs(text: str) -> tuple[str, set[str]]:
    """The normalised text and its runs of six or more digits (an ID's X kept)."""
    normalized = normalize_text(text)
    return normalized, {
        *_NUMBER_RUN_RE.findall(normalized),
        *_NUMBER_RUN_RE.findall(_DIGIT_GAP_RE.sub("", normalized)),
    }


def looks_like_secret(text: str, *, secure_step_open: bool) -> bool:
    """Whether a chat message seems to carry an identifier or a query password.

    While the verification form is open, any 6-digit number or identifier is
    refused (it belongs in the form, and the password must never reach Rasa).
    At other times only a 6-digit number next to an identifier or the word
    密码 is refused, so that amounts and ticket numbers still pass.
    """
    normalized, runs = _number_runs(text)
    six_digits = any(len(run) == 6 and run.isdigit() for run in runs)
    identifier = any(classify_identifier(run)[0] is not None for run in runs)
    if secure_step_open:
        return six_digits or identifier
    return six_digits and (identifier or bool(_PASSWORD_WORD_RE.search(normalized)))


def spoken_secret(text: str) -> bool:
    """Whether a caller's recognised speech seems to say a query password or an identifier.

    A 6-digit number next to the word 密码 or an identifier (as in the chat
    outside its form), and any identifier on its own: an ID, fund account or
    joint-card number, or a number shaped like an ID. Amounts, phone numbers
    (11 digits) and ticket numbers (10 digits) still pass.
    """
    if looks_like_secret(text, secure_step_open=False):
        return True
    _, runs = _number_runs(text)
    return any(classify_identifier(run)[0] is not None or _ID_SHAPED_RE.fullmatch(run)
               for run in runs)
