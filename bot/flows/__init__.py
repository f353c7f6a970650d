"""Loaders and schema of ``flows/``: the call flows shared by the phone and chat channels.

One module per file of ``flows/``, each validating its file and raising
:class:`FlowsError` naming the file and the fault, so a broken file stops a
process at start instead of mid-call:

- :mod:`.loader`: the YAML loader and the shared checks (``FLOWS_DIR``, ``FlowsError``);
- :mod:`.menus`: ``menu.yml``, the service menu (phone keys, chat quick replies);
- :mod:`.agents`: ``agents.yml``, agent hours and the transfer target;
- :mod:`.complaints`: ``complaint_categories.yml``;
- :mod:`.rating`: ``rating.yml``, the satisfaction scale;
- :mod:`.answers`: ``answers.yml``, the words that confirm, change or stop inside a
  form (read only by the action server, which imports it as ``bot.flows.answers``);
- :mod:`.voice`: ``voice.yml``, how the phone line listens and speaks (read only
  by the voice gateway, which imports it as ``bot.flows.voice``).

The names below are the public API the channels, the desk and the actions import.
"""
from __future__ import annotations

from bot.flows.agents import AgentHours, agent_hours
from bot.flows.complaints import ComplaintCategory, complaint_categories, match_complaint_category
from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml
from bot.flows.menus import MENU_KEYS, RESERVED_KEYS, Menu, MenuItem, menus
from bot.flows.rating import RatingLevel, RatingScale, match_rating, rating_scale

__all__ = [
    "FLOWS_DIR",
    "MENU_KEYS",
    "RESERVED_KEYS",
    "AgentHours",
    "ComplaintCategory",
    "FlowsError",
    "Menu",
    "MenuItem",
    "RatingLevel",
    "RatingScale",
    "agent_hours",
    "complaint_categories",
    "load_yaml",
    "match_complaint_category",
    "match_rating",
    "menus",
    "rating_scale",
]
