"""Rasa custom input channels and what every channel shares.

Imported by the Rasa environment: keep it free of Flask and SQLAlchemy 2.
Importing it installs the Rasa-side speed-ups (:mod:`bot.rasa_speedups`),
so every Rasa that serves the gateway's channels has them.
"""
from bot.rasa_speedups import install_speedups

install_speedups()
