"""Serialbot: posts a story to Discord channels as a serial, one installment at a time."""

__version__ = "0.1.0"
