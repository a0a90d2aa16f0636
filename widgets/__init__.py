"""Textual widgets of the war room: one public widget per module."""
