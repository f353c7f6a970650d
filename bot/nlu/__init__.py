"""Text handling for Chinese input, and the NLU training data as files.

The normaliser and the components are shared by Rasa's NLU pipeline and the
channels; ``training_data`` is read and written by the learning inbox, never
loaded by Rasa.
"""
