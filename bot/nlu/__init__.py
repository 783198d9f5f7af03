"""Brightbay's Rasa NLU components: one component per module."""
