"""The demo page and the widget's files: ``GET /``, ``/chat/widget.js``, ``/chat/widget.css``."""

from __future__ import annotations

from pathlib import Path

from flask import Response, render_template, send_from_directory

from bot.gateway.chat import bp

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "chat"


@bp.get("/")
def demo_page() -> str:
    """A demo fund-centre home page with the widget (labelled 演示)."""
    return render_template("chat/demo.html")


def _asset(name: str, mimetype: str) -> Response:
    response = send_from_directory(STATIC_DIR, name, mimetype=mimetype, max_age=300)
    # The widget is meant to be loaded by other sites' pages.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/chat/widget.js")
def widget_js() -> Response:
    return _asset("widget.js", "text/javascript")


@bp.get("/chat/widget.css")
def widget_css() -> Response:
    return _asset("widget.css", "text/css")


@bp.get("/chat/demo.css")
def demo_css() -> Response:
    return _asset("demo.css", "text/css")
