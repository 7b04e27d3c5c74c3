"""warroom: incident response from detection to handover."""

__version__ = "0.1.0"
