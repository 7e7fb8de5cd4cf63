"""Errors raised by mixid. Every one is a ``ValueError`` so callers may catch broadly."""


class MixidError(ValueError):
    """Base class of every error mixid raises on bad input or an impossible request."""


class DesignError(MixidError):
    """A causal design is malformed: it names the offending field."""


class DataError(MixidError):
    """A data set does not match its design: it names the column and the first bad row."""


class IdentificationError(MixidError):
    """A target that the design does not identify was requested."""
