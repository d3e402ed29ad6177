"""Loaders: one per file format, each turning a file into a ``Document`` the library builds a story
from. Plain text (``.txt``, ``.md``) is read here and its structure found by ``bot.structure``;
markup formats (HTML, EPUB, Archive of Our Own downloads) say their structure themselves, as
``Block``s.
"""
