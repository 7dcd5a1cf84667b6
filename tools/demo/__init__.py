"""Parts of the demo feed generator (``python -m tools.demo_feed``), one concern per module."""
