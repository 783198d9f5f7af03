"""Support metrics from the tracker store and the handoff records (``python -m bot.analytics report``)."""
