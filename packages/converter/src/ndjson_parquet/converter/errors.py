"""Exceptions raised by the converter."""

from __future__ import annotations


class ConversionError(Exception):
    """The conversion cannot go on; nothing of this run was committed."""


class MaxErrorRateExceeded(ConversionError):
    """More lines than allowed went to quarantine; nothing of this run was committed."""


class SchemaFileError(ConversionError):
    """A declared schema file that cannot be read."""
