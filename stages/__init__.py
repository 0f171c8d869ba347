"""Spoken-digit recognition pipeline: one module per DVC stage plus the shared maths."""


class DigitsError(Exception):
    """A failure with a message meant for the user; the CLI prints it without a traceback."""
