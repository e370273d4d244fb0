"""The content tests' running console (with the delivery services) serves the broadcast tests too."""

from tests.content.conftest import content_console, make_content_console

__all__ = ["content_console", "make_content_console"]
