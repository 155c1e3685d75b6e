"""Trio actors: thin shells that read channels, call ``asnd.core`` and send events on."""
