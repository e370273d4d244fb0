"""The console's fixtures (a running ``hotline serve`` app, accounts, signed-in clients) for the dashboard tests."""

from tests.console.conftest import console, make_console  # noqa: F401 - pytest finds fixtures by name
