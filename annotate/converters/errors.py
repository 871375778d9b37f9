"""Exceptions raised by the converters.

Exceptions::

    Exception
     └── ConversionError          base class for everything below
          ├── UnknownFormatError  no format is registered under that name (also a KeyError)
          ├── FormatError         the input is not a readable dataset of that format
          │                       (also a ValueError)
          └── ConversionLossError a strict conversion would lose or drop something

An invalid dataset document given to an exporter raises :class:`schemas.SchemaError`.
"""

from __future__ import annotations


class ConversionError(Exception):
    """Base class of every converter error."""


class UnknownFormatError(ConversionError, KeyError):
    """No format is registered under the requested name; the message lists known names."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        # KeyError's own __str__ would repr() the message.
        known = ", ".join(self.known) or "(none)"
        return f"unknown dataset format {self.name!r}; known formats: {known}"


class FormatError(ConversionError, ValueError):
    """The input is not a readable dataset of the format; the message names the file."""


class ConversionLossError(ConversionError):
    """A strict conversion was about to lose or drop data; ``lines`` says what."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("conversion would lose data: " + "; ".join(lines))
        self.lines = lines
