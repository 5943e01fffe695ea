"""Deciding what a root can lose, and applying it inside the root."""
