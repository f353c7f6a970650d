"""The complaint desk (投诉工单台): where staff work complaints, hand-overs and callbacks.

Blueprint ``desk`` under ``/desk``, Chinese interface, server-rendered HTML (no
script needed; one small script adds a character counter). Every page needs a
logged-in staff member (:mod:`.auth`); every form carries a CSRF token; every
response forbids framing and allows resources only from the gateway itself.

Modules: :mod:`.auth` (log-in, sessions, CSRF, roles), :mod:`.complaints`,
:mod:`.queues` (hand-overs and callbacks), :mod:`.learning` (the learning
inbox, 待学习), :mod:`.knowledge` and :mod:`.knowledge_review` (the policy
knowledge base, 政策知识库; forms in :mod:`.knowledge_forms`), :mod:`.releases` (模型发布:
retrain and publish the model), :mod:`.overview` (service figures, charts, CSV export),
:mod:`.accounts` (log-in pages, password, staff administration),
:mod:`.lockouts` (locked depositor accounts, the supervisor's unlock),
:mod:`.sms_outbox` (the SMS outbox and delivery reports, supervisors only),
:mod:`.second_factor` (supervisors' TOTP step after the password),
:mod:`.tracker` (read-only figures from the Rasa tracker store),
:mod:`.charts` (SVG geometry). ``python -m bot.gateway.desk.create_supervisor``
creates the first supervisor.
"""
from __future__ import annotations

from flask import Blueprint, Flask

from bot.clarify import load_topics

bp = Blueprint("desk", __name__, url_prefix="/desk")


def init_app(app: Flask) -> None:
    """Register the desk on the gateway (called by :func:`bot.gateway.create_app`)."""
    app.register_blueprint(bp)
    # Policy topics by their catalogue titles (learning inbox, labels): knowledge/*.yml.
    # load_topics is read once per process (the catalogue is 7 YAML files).
    app.jinja_env.globals["POLICY_TOPIC_TITLES"] = {
        label.split("/", 1)[1]: offer.title
        for label, offer in load_topics().offers.items() if label.startswith("faq/")}


# The views register themselves on ``bp``.
from bot.gateway.desk import (  # noqa: E402,F401
    accounts,
    auth,
    complaints,
    knowledge,
    knowledge_review,
    learning,
    lockouts,
    overview,
    queues,
    releases,
    second_factor,
    sms_outbox,
)
