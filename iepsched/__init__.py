"""iepsched: backward-scheduled IEP timelines over a district's school calendar."""

__version__ = "0.1.0"
