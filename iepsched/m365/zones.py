"""IANA <-> Windows time-zone names for Graph (graph-facts §8, SPEC §5 "Only documented Graph").

Graph's ``dateTimeTimeZone.timeZone`` and ``Prefer: outlook.timezone`` take Windows names (or a
short documented IANA list) and answer 400 for others (e.g. America/Detroit). iepsched's config
holds an IANA zone; every name sent to Graph goes through `windows_zone`, which reads the CLDR
windowsZones table that `tzlocal` maintains — not a hand list. Answers may come back labelled
with a Windows name; `iana_zone` maps them back.
"""

from __future__ import annotations

from tzlocal.windows_tz import tz_win, win_tz

__all__ = ["graph_zone", "iana_zone", "windows_zone"]


def windows_zone(iana: str) -> str:
    """The Windows name Graph takes for an IANA zone (ValueError when CLDR has none)."""
    if iana.startswith("tzone://"):  # already a Graph-native name
        return iana
    name = tz_win.get(iana)
    if name is None:
        if iana in win_tz:  # already a Windows name
            return iana
        raise ValueError(f"time zone {iana!r} has no Windows name; Graph would refuse it")
    return name


def iana_zone(name: str) -> str:
    """The IANA zone for a Windows name Graph echoes (the name itself when it is not one)."""
    return win_tz.get(name, name)


def graph_zone(name: str) -> str:
    """The Windows name for `name` when CLDR has one, else `name` unchanged (Graph then answers
    400 for that one write, which fails alone; the config check refuses such zones up front)."""
    return tz_win.get(name, name)
