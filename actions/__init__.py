"""Custom actions of the 96319 assistant (run by ``rasa_sdk``).

rasa_sdk imports every module of this package at start-up, so no module may
open a database connection at import time: sessions are opened per action run.
"""
