"""Textual screens of the war room: one screen per module, with a sibling .tcss."""
