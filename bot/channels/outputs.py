"""The output channel that reaches a customer on the channel they wrote on, for live-agent replies.

Inside the Rasa server (e.g. a route of the live-agent channel) pass the registered input
channels, ``request.app.ctx.input_channels``::

    from bot.channels.outputs import output_channel_for, handoff_marker
    output = output_channel_for(tracker.get_latest_input_channel(), request.app.ctx.input_channels)
    await output.send_custom_json(sender_id, handoff_marker("started", agent="Sam"))  # widget banner
    await output.send_text_message(sender_id, "Hi, I'm Sam from Brightbay support.")

``output_channel_for`` returns

=============  ==============================================================================
``socketio``   ``WidgetSocketIOOutput`` on the running socket.io server: pushed to the widget
               (room = session id). Needs the input channels of this process.
``slack``      ``BrightbaySlackBot``: ``chat.postMessage`` to the conversation id (the user's DM,
               or ``user_channel[_thread]``) at ``SLACK_API_URL``
``facebook``   ``MessengerBot`` with the Graph URL from ``FB_GRAPH_URL``: ``/me/messages``
``rest``       a ``CollectingOutputChannel``: REST cannot push, so the caller keeps what was
               sent (``output.messages``) for the customer to fetch (the live-agent outbox)
=============  ==============================================================================

Without input channels (another process), Slack and Messenger are built from the effective
credentials (``bot.channels.credentials``); socket.io then raises ``LookupError``.
Markers other than text: ``send_custom_json(sender_id, handoff_marker("started"|"ended"))``
shows or clears "You are now chatting with a support agent" in the widget; on Slack and
Messenger send the customer a text instead (a custom dict would be posted as raw API fields).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel

from bot.channels.socketio import HANDOFF_ENDED, HANDOFF_STARTED, handoff_marker  # noqa: F401 (re-exported)

CHANNEL_CLASSES = {
    "slack": "bot.channels.slack.BrightbaySlackInput",
    "facebook": "bot.channels.facebook.BrightbayFacebookInput",
}


def _from_credentials(name: str, credentials: Mapping[str, Any]) -> Optional[InputChannel]:
    """The input channel ``name`` built from a credentials mapping (keys: class paths or names)."""
    import os
    import re

    from bot.channels.facebook import BrightbayFacebookInput
    from bot.channels.slack import BrightbaySlackInput

    classes = {"slack": BrightbaySlackInput, "facebook": BrightbayFacebookInput}
    if name not in classes:
        return None
    config = credentials.get(CHANNEL_CLASSES[name], credentials.get(name))
    if not isinstance(config, dict):
        return None

    def expand(value: Any) -> Any:  # the ${VAR} placeholders Rasa would fill
        if isinstance(value, str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: os.environ.get(m.group(1), ""), value)
        return value

    return classes[name].from_credentials({k: expand(v) for k, v in config.items()})


def output_channel_for(
    input_channel_name: Optional[str],
    input_channels: Optional[Iterable[InputChannel]] = None,
    credentials: Optional[Mapping[str, Any]] = None,
) -> OutputChannel:
    """The output channel for a conversation whose customer writes on ``input_channel_name``."""
    name = input_channel_name or "rest"
    if name in ("rest", "cmdline"):
        return CollectingOutputChannel()
    for channel in input_channels or ():
        if channel.name() == name:
            output = channel.get_output_channel()
            if output is not None:
                return output
    if credentials is None and name in CHANNEL_CLASSES:
        from bot.channels.credentials import effective_credentials

        credentials = effective_credentials()[0]
    channel = _from_credentials(name, credentials or {})
    if channel is not None:
        return channel.get_output_channel()
    raise LookupError(f"no output channel for {name!r}: is the channel configured and running in this process?")

