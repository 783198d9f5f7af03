"""Handoff to live agents: the decision, records and queue, summary card, support hours."""
