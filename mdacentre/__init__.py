"""mdacentre: maritime and airspace situational awareness for a regional coordination centre."""

__version__ = "0.1.0"
