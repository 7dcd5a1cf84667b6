"""One root exception for every single call that can fail.

Stream paths never raise for bad input: they return error records and count them
(see :mod:`mdacentre.runtime.metrics`). Single calls (loading a zone file, parsing a feed
definition, validating a setting) raise a subclass of :class:`MdaError` whose
message says what is wrong and how to fix it.
"""

from __future__ import annotations


class MdaError(Exception):
    """Root of every exception raised by mdacentre."""


class ConfigError(MdaError):
    """A settings file, feed definition, profile or routing rule is invalid."""


class ZoneError(MdaError):
    """A zone file cannot be loaded or fails validation."""


class DecodeError(MdaError):
    """A single message given to a single-call decoder cannot be decoded."""


class DeliveryError(MdaError):
    """An alert could not be handed to a sink."""


class QueryError(MdaError):
    """An analyst's query over the archive failed (bad SQL, unknown column or view)."""


class QueryRefused(QueryError):
    """An analyst's query was refused: not one SELECT, or it reaches outside the archive's views."""


class QueryTimeout(QueryError):
    """An analyst's query ran longer than its time limit and was interrupted."""
