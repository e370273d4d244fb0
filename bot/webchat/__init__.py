"""The web chat channel: a chat page, an embeddable widget and a WebSocket into the same engine.

Wire it with ``app.include_router(make_router(runtime))``; the router also serves the start page at ``/``
(:func:`start_page`), so the app's own ``/`` route goes.
"""

from bot.webchat.pages import start_page
from bot.webchat.router import make_router

__all__ = ["make_router", "start_page"]
