"""Brightbay's Rasa input channels."""
