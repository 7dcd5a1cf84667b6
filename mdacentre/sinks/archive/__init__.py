"""Columnar history archive: GeoParquet by day under the data directory (see docs/history.md)."""
