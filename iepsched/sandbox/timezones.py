"""Time handling the way Outlook does it: `dateTimeTimeZone` in, UTC (or a preferred zone) out.

Graph accepts Windows zone names ("Central Standard Time") and the IANA names listed under
"Additional time zones" in Microsoft's dateTimeTimeZone page (`DOCUMENTED_IANA`, e.g.
"America/Chicago"), both in request bodies and in ``Prefer: outlook.timezone``; any other name —
also a valid tzdata name such as "America/Detroit" — gets 400 ``TimeZoneNotSupportedException``
("A valid TimeZone value must be specified. The following TimeZone value is not supported: '…'.",
as a Microsoft engineer showed for the Prefer header in microsoft-graph-docs issue #6870 and users
saw for event bodies in #4758). It writes times as ``2026-09-01T15:30:00.0000000`` (seven
fractional digits, no offset) next to the zone name, and instants such as ``createdDateTime`` as
``2026-09-01T15:30:00.1234567Z``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# The common Windows names mapped to their CLDR "001" IANA zone (windowsZones.xml). Enough for US
# school districts and Microsoft's own samples; anything else may be given as an IANA name.
WINDOWS_TO_IANA: dict[str, str] = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Aleutian Standard Time": "America/Adak",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time": "America/New_York",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Atlantic Standard Time": "America/Halifax",
    "Venezuela Standard Time": "America/Caracas",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires",
    "UTC-02": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "GTB Standard Time": "Europe/Bucharest",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kiev",
    "Israel Standard Time": "Asia/Jerusalem",
    "Turkey Standard Time": "Europe/Istanbul",
    "Russian Standard Time": "Europe/Moscow",
    "Arabian Standard Time": "Asia/Dubai",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Kolkata",
    "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei",
    "W. Australia Standard Time": "Australia/Perth",
    "Korea Standard Time": "Asia/Seoul",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Tasmania Standard Time": "Australia/Hobart",
    "New Zealand Standard Time": "Pacific/Auckland",
    "UTC+12": "Etc/GMT-12",
    "Samoa Standard Time": "Pacific/Apia",
}

# The "Additional time zones" of api-reference/v1.0/resources/datetimetimezone.md
# (microsoftgraph/microsoft-graph-docs-contrib), in the page's order. Where the page gives a second
# name in parentheses ("Europe/Kyiv (Kiev)") both are accepted; the value is the tzdata zone used
# for the arithmetic when the page's name is not a tzdata name ("Asia/Toshkent").
_DOCUMENTED_TEXT = (
    "Etc/GMT+12 Etc/GMT+11 Pacific/Honolulu America/Anchorage America/Santa_Isabel "
    "America/Los_Angeles America/Phoenix America/Chihuahua America/Denver America/Guatemala "
    "America/Chicago America/Mexico_City America/Regina America/Bogota America/New_York "
    "America/Indiana/Indianapolis America/Caracas America/Asuncion America/Halifax "
    "America/Cuiaba America/La_Paz America/Santiago America/St_Johns America/Sao_Paulo "
    "America/Argentina/Buenos_Aires America/Cayenne America/Godthab America/Montevideo "
    "America/Bahia Etc/GMT+2 Atlantic/Azores Atlantic/Cape_Verde Africa/Casablanca Etc/GMT "
    "Europe/London Atlantic/Reykjavik Europe/Berlin Europe/Budapest Europe/Paris "
    "Europe/Warsaw Africa/Lagos Africa/Windhoek Europe/Bucharest Asia/Beirut Africa/Cairo "
    "Asia/Damascus Africa/Johannesburg Europe/Kyiv Europe/Kiev Europe/Istanbul "
    "Asia/Jerusalem Asia/Amman Asia/Baghdad Europe/Kaliningrad Asia/Riyadh Africa/Nairobi "
    "Asia/Tehran Asia/Dubai Asia/Baku Europe/Moscow Indian/Mauritius Asia/Tbilisi "
    "Asia/Yerevan Asia/Kabul Asia/Karachi Asia/Tashkent Asia/Kolkata Asia/Colombo "
    "Asia/Kathmandu Asia/Almaty Asia/Dhaka Asia/Yekaterinburg Asia/Yangon Asia/Rangoon "
    "Asia/Bangkok Asia/Novosibirsk Asia/Shanghai Asia/Krasnoyarsk Asia/Singapore "
    "Australia/Perth Asia/Taipei Asia/Ulaanbaatar Asia/Irkutsk Asia/Tokyo Asia/Seoul "
    "Australia/Adelaide Australia/Darwin Australia/Brisbane Australia/Sydney "
    "Pacific/Port_Moresby Australia/Hobart Asia/Yakutsk Pacific/Guadalcanal "
    "Asia/Vladivostok Pacific/Auckland Etc/GMT-12 Pacific/Fiji Asia/Magadan "
    "Pacific/Tongatapu Pacific/Apia Pacific/Kiritimati"
)
DOCUMENTED_IANA: dict[str, str] = {name: name for name in _DOCUMENTED_TEXT.split()} | {
    "Asia/Toshkent": "Asia/Tashkent",
    "Asia/Astana": "Asia/Almaty",
}

# Names Exchange itself writes into originalStartTimeZone for UTC items.
_UTC_ALIASES = {"utc", "etc/utc", "gmt", "z", "tzone://microsoft/utc", "coordinated universal time"}

_LOCAL_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


class UnknownTimeZone(ValueError):
    """A zone name Graph does not accept: neither a Windows name nor a documented IANA name."""


def not_supported_message(name: str) -> str:
    """Graph's message for a zone it does not support (TimeZoneNotSupportedException)."""
    return (
        "A valid TimeZone value must be specified. The following TimeZone value is not "
        f"supported: '{name}'."
    )


@cache
def _iana_by_lower() -> dict[str, str]:
    # Only the documented names: tzdata knows America/Detroit, Graph does not accept it.
    known = available_timezones()
    return {name.lower(): zone for name, zone in DOCUMENTED_IANA.items() if zone in known}


@cache
def _windows_by_lower() -> dict[str, str]:
    """Every Windows zone id (CLDR windowsZones, as icalendar ships it) → its IANA zone."""
    names = dict(WINDOWS_TO_IANA)
    try:
        from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
    except ImportError:  # pragma: no cover - icalendar < 6 keeps only the table above
        pass
    else:
        names = {**WINDOWS_TO_OLSON, **names}
    return {name.lower(): iana for name, iana in names.items()}


@cache
def resolve(name: str) -> tzinfo:
    """The tzinfo for a zone name Graph accepts (Windows or documented IANA, case-insensitive)."""
    key = name.strip().lower()
    if key in _UTC_ALIASES:
        return UTC
    iana = _windows_by_lower().get(key) or _iana_by_lower().get(key)
    if iana is None:
        raise UnknownTimeZone(name)
    if iana == "UTC":
        return UTC
    try:
        return ZoneInfo(iana)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - tzdata is a dependency
        raise UnknownTimeZone(name) from exc


def is_known(name: str) -> bool:
    """Whether `name` resolves to a zone."""
    try:
        resolve(name)
    except UnknownTimeZone:
        return False
    return True


def parse_local(text: str) -> tuple[datetime, bool]:
    """Parse a Graph ``dateTime`` string; returns (datetime, has_offset).

    Graph's value has no offset, but Microsoft also accepts ``Z``/``+hh:mm`` suffixes, which then
    win over the separate ``timeZone``. Fractions may carry up to seven digits (.NET ticks).
    """
    match = _LOCAL_RE.match(text.strip())
    if not match:
        raise ValueError(f"cannot read {text!r} as a date and time")
    day = date.fromisoformat(match["date"])
    frac = (match["f"] or "0")[:6].ljust(6, "0")
    naive = datetime(
        day.year,
        day.month,
        day.day,
        int(match["h"] or 0),
        int(match["m"] or 0),
        int(match["s"] or 0),
        int(frac),
    )
    tz_text = match["tz"]
    if not tz_text:
        return naive, False
    if tz_text == "Z":
        return naive.replace(tzinfo=UTC), True
    sign = 1 if tz_text[0] == "+" else -1
    digits = tz_text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return naive.replace(tzinfo=timezone(sign * offset)), True


def to_utc(value: dict[str, object] | None, *, default_zone: str = "UTC") -> datetime:
    """The UTC instant of a ``dateTimeTimeZone`` object; raises ValueError/UnknownTimeZone."""
    if not isinstance(value, dict):
        raise ValueError("expected a dateTimeTimeZone object")
    text = value.get("dateTime")
    if not isinstance(text, str):
        raise ValueError("dateTimeTimeZone.dateTime is required")
    zone_name = value.get("timeZone")
    zone = resolve(zone_name if isinstance(zone_name, str) and zone_name else default_zone)
    parsed, has_offset = parse_local(text)
    if has_offset:
        return parsed.astimezone(UTC)
    return parsed.replace(tzinfo=zone).astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """Parse a query-string instant such as calendarView's startDateTime; no offset means UTC."""
    parsed, has_offset = parse_local(text)
    return parsed.astimezone(UTC) if has_offset else parsed.replace(tzinfo=UTC)


def format_local(value: datetime) -> str:
    """``2026-09-01T15:30:00.0000000``: Graph's seven-digit wall-clock format."""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond:06d}0"


def format_stamp(value: datetime) -> str:
    """``2026-09-01T15:30:00.1234567Z``: Graph's format for UTC instants."""
    return format_local(value.astimezone(UTC)) + "Z"


def output(instant: datetime, zone_name: str | None) -> dict[str, str]:
    """A ``dateTimeTimeZone`` for `instant`, in `zone_name` when given, else UTC."""
    if zone_name:
        local = instant.astimezone(resolve(zone_name)).replace(tzinfo=None)
        return {"dateTime": format_local(local), "timeZone": zone_name}
    return {
        "dateTime": format_local(instant.astimezone(UTC).replace(tzinfo=None)),
        "timeZone": "UTC",
    }


def output_midnight(day: date, zone_name: str | None) -> dict[str, str]:
    """Midnight of `day` labelled with `zone_name` (or UTC): To Do's and all-day items' dates."""
    return {
        "dateTime": format_local(datetime(day.year, day.month, day.day)),
        "timeZone": zone_name or "UTC",
    }
