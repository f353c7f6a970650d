"""Text handling shared by Rasa's NLU pipeline and the channels."""
