"""96319 hotline assistant: shared code of the gateway, channels, records and NLU.

Keep this package import-light: Rasa's own environment imports ``bot.nlu`` and
``bot.channels`` and has neither Flask nor SQLAlchemy 2 installed.
"""
