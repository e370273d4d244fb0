"""Dialogue engine, flows and checks: everything that decides what the bot says, with no platform in sight."""
