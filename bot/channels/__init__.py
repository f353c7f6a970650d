"""Rasa custom input channels and what every channel shares.

Imported by the Rasa environment: keep it free of Flask and SQLAlchemy 2.
"""
