"""Rasa dialogue policies of the Brightbay assistant."""
