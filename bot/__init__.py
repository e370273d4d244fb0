"""Hotline's outer shell: settings, wiring, CLI, channel adapters and the web server."""
