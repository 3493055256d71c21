"""The parents' notice of meeting (SPEC §3.7; Kansas K.A.R. 91-40-17(b)).

`build_notice` gathers the facts of one placed meeting from the plan; `render_notice` pours them
into a Jinja2 template. The wording lives only in the templates (`iepsched/data/notices/`, English
and Spanish), so a district replaces it by putting a template of the same name in its own folder;
the code decides only what is true (who is invited, why, when, where). No I/O beyond reading the
templates: the caller writes the page.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
import jinja2.sandbox

from ..core.dates import add_months, age_on
from ..core.errors import Problem, UserError
from ..core.model import Contact, CycleType, StudentPlan
from ..core.schoolcal import SchoolCalendar, UnknownDate
from .cycleview import purposes

Lang = Literal["en", "es"]
LANGS: tuple[Lang, ...] = ("en", "es")
SHIPPED = "iepsched.data"  # the package whose `notices/` folder holds the shipped templates

# SPEC §3.6: an annual meeting held within 40 school days before the reevaluation is due is the
# reevaluation meeting too (one meeting, both purposes).
REEVAL_WINDOW_SCHOOL_DAYS = 40
# The cycles whose steps (SPEC §3.6) do not include invite_student although their meeting changes
# the IEP, so transition is planned there too from the rules' age; eligibility writes no IEP.
_TABLES_WITHOUT_INVITE: frozenset[CycleType] = frozenset({"amendment", "reevaluation", "transfer"})
# K.A.R. 91-40-17(a): written notice at least 10 calendar days before the meeting.
LEGAL_NOTICE_DAYS = 10


def template_name(lang: str) -> str:
    """The file a language's notice is rendered from (a district overrides it by this name)."""
    return f"notice.{lang}.html.j2"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone the notice is addressed to: a decision maker, or the adult student."""

    name: str
    address: str = ""  # one line, as the roster gives it; "" when not known
    is_student: bool = False


@dataclass(frozen=True, slots=True)
class NoticeContact:
    """One logged parent contact of this meeting's cycle, as the attached log lists it."""

    at: dt.datetime  # in the district's time zone
    method: str  # a CONTACT_METHODS value; the template words it
    with_whom: str
    outcome: str  # a CONTACT_OUTCOMES value
    counted: bool  # one of the two contacts that meet the two-contact requirement


@dataclass(frozen=True, slots=True)
class Notice:
    """Everything a notice template may say, in the district's time zone. Values, no wording."""

    lang: Lang
    issued_on: dt.date
    district_name: str
    student_id: str
    first_name: str
    last_name: str
    start: dt.datetime
    end: dt.datetime
    timezone: str  # IANA name
    meeting_state: str  # proposed | booked | held
    building: str
    room: str  # the building's room mailbox from [rooms], "" when none is configured
    recipients: tuple[Recipient, ...]
    adult: bool  # rights have transferred (age at the meeting >= the rules' transfer age)
    rights_transfer_age: int
    transition: bool  # transition planning is a purpose, so the student is invited
    reevaluation: bool  # the meeting is the reevaluation meeting too
    case_manager: str  # the case manager's name, else email (Student.case_manager_label)
    case_manager_name: str  # "" when the roster has none: the templates then say "the case manager"
    case_manager_email: str
    gen_ed_teachers: int  # how many general-education teachers are invited
    providers: int  # how many related-service providers are invited
    contacts: tuple[NoticeContact, ...]
    contact_deadline: dt.date | None
    contacts_met: bool
    # The meeting's cycle type and every purpose it serves, the cycle's own first (SPEC §3.6):
    # ("annual", "reevaluation") for an annual review that is the reevaluation meeting too.
    cycle_type: CycleType = "annual"
    purposes: tuple[CycleType, ...] = ("annual",)

    @property
    def evaluation(self) -> bool:
        """Evaluation results are discussed (eligibility or reevaluation): someone explains them."""
        return self.reevaluation or "eligibility" in self.purposes

    @property
    def student_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def days_ahead(self) -> int:
        """Calendar days from the notice to the meeting."""
        return (self.start.date() - self.issued_on).days

    @property
    def legal_notice_days(self) -> int:
        """Kansas' written-notice minimum, for the templates to quote."""
        return LEGAL_NOTICE_DAYS

    @property
    def short_notice(self) -> bool:
        """Less than Kansas' 10 days of written notice (the parents may still agree to meet)."""
        return self.days_ahead < LEGAL_NOTICE_DAYS


def build_notice(
    plan: StudentPlan,
    *,
    lang: Lang | None,
    issued_on: dt.date,
    district_name: str,
    timezone: str,
    tz: dt.tzinfo,
    room: str,
    rights_transfer_age: int,
    contacts: Sequence[Contact],
    calendar: SchoolCalendar | None,
    cycle: StudentPlan | None = None,
    transition_age: int | None = None,
) -> Notice:
    """The facts of a meeting for the parents' notice; UserError when none is placed.

    `plan` is the student's plan and `cycle` the cycle whose meeting it is (one of
    `plan.cycles`; default the plan's own). `lang` None means the student's home language.
    `contacts` is the student's whole log: only this cycle's are kept. `calendar` (the student's)
    tells whether an annual meeting is the reevaluation meeting too when the plan does not say
    so; without it that purpose is not claimed. `transition_age` (the rules' age for inviting
    the student) makes transition a purpose of a cycle whose steps do not invite the student
    themselves; an eligibility meeting never plans transition.
    """
    top = plan
    plan = cycle or top
    s = plan.student
    meeting = plan.meeting
    if meeting is None:
        raise UserError(
            Problem(
                s.student_id,
                "the meeting is not placed yet, so there is no notice to write; "
                f"`iepsched plan {s.student_id}` says why",
            )
        )
    age = age_on(s.birth_date, meeting.date)
    adult = age >= rights_transfer_age
    kinds = purposes(top, plan)
    # A plan that carries its reevaluation cycle says whether it is held here; an older plan
    # (none in `others`) is asked the calendar, as SPEC §3.6's window rule does.
    planned_reeval = any(c.cycle_type == "reevaluation" for c in top.cycles)
    reevaluation = "reevaluation" in kinds or (
        plan.cycle_type == "annual"
        and not planned_reeval
        and _is_reevaluation_meeting(plan, meeting.date, calendar)
    )
    if reevaluation and "reevaluation" not in kinds:
        kinds = (*kinds, "reevaluation")
    transition = plan.milestone("invite_student") is not None or (
        plan.cycle_type in _TABLES_WITHOUT_INVITE
        and transition_age is not None
        and age >= transition_age
    )
    recipients = [
        Recipient(name=d.name.strip(), address=" ".join(d.address.split()))
        for d in s.decision_makers
        if d.name.strip() or d.address.strip()
    ]
    if adult:
        recipients.append(Recipient(name=f"{s.first_name} {s.last_name}".strip(), is_student=True))
    requirement = plan.contacts
    counted = set(requirement.qualifying) if requirement is not None else set()
    return Notice(
        lang=lang or s.home_language,
        issued_on=issued_on,
        district_name=district_name,
        student_id=s.student_id,
        first_name=s.first_name.strip(),
        last_name=s.last_name.strip(),
        start=meeting.start.astimezone(tz),
        end=meeting.end.astimezone(tz),
        timezone=timezone,
        meeting_state=meeting.state,
        building=s.building,
        room=room,
        recipients=tuple(recipients),
        adult=adult,
        rights_transfer_age=rights_transfer_age,
        # The rules decide who is invited at what age (invite_student's min_age): the plan
        # carries the step exactly when the student is old enough at the meeting.
        transition=transition,
        reevaluation=reevaluation,
        case_manager=s.case_manager_label,
        case_manager_name=s.case_manager_name.strip(),
        case_manager_email=s.case_manager_email,
        gen_ed_teachers=len({e.lower() for e in s.gen_ed_emails} - {s.case_manager_email}),
        providers=len({e.lower() for e in s.provider_emails} - {s.case_manager_email}),
        contacts=tuple(
            NoticeContact(
                at=c.at.astimezone(tz),
                method=c.method,
                with_whom=c.with_whom,
                outcome=c.outcome,
                counted=c in counted,
            )
            for c in cycle_contacts(plan, contacts, meeting.date)
        ),
        contact_deadline=requirement.deadline if requirement is not None else None,
        contacts_met=requirement.met if requirement is not None else False,
        cycle_type=plan.cycle_type,
        purposes=kinds,
    )


def cycle_contacts(
    plan: StudentPlan, contacts: Sequence[Contact], meeting_date: dt.date
) -> list[Contact]:
    """The contacts logged for this meeting, oldest first: after the previous IEP's anniversary
    (DUE − 1 year, the window the two-contact requirement counts in, core.statuses) and on or
    before the meeting day. Another student's contacts are never listed."""
    start = add_months(plan.due_date, -12)
    return sorted(
        (
            c
            for c in contacts
            if c.student_id == plan.student_id and start < c.at.date() <= meeting_date
        ),
        key=lambda c: c.at,
    )


def _is_reevaluation_meeting(
    plan: StudentPlan, meeting_date: dt.date, calendar: SchoolCalendar | None
) -> bool:
    """Whether the meeting falls in [school(R, −40), R] (SPEC §3.6). Unknown is "no": the notice
    claims a purpose only when the calendar shows it."""
    reeval = plan.student.reeval_due_date
    if reeval is None or calendar is None or meeting_date > reeval:
        return False
    try:
        return calendar.add_school_days(reeval, -REEVAL_WINDOW_SCHOOL_DAYS) <= meeting_date
    except UnknownDate:
        return False


# -- dates and times in the family's language (no system locale: servers rarely have es_US) ----

_MONTHS: dict[str, tuple[str, ...]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}
_WEEKDAYS: dict[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
# How a family says the zone; an IANA name not listed here is shown as it is.
_ZONES: dict[str, tuple[str, str]] = {
    "America/New_York": ("Eastern Time", "hora del este"),
    "America/Detroit": ("Eastern Time", "hora del este"),
    "America/Indiana/Indianapolis": ("Eastern Time", "hora del este"),
    "America/Kentucky/Louisville": ("Eastern Time", "hora del este"),
    "America/Chicago": ("Central Time", "hora del centro"),
    "America/Indiana/Knox": ("Central Time", "hora del centro"),
    "America/Menominee": ("Central Time", "hora del centro"),
    "America/North_Dakota/Center": ("Central Time", "hora del centro"),
    "America/Denver": ("Mountain Time", "hora de la montaña"),
    "America/Boise": ("Mountain Time", "hora de la montaña"),
    "America/Phoenix": ("Mountain Time", "hora de la montaña"),
    "America/Los_Angeles": ("Pacific Time", "hora del Pacífico"),
    "America/Anchorage": ("Alaska Time", "hora de Alaska"),
    "Pacific/Honolulu": ("Hawaii Time", "hora de Hawái"),
    "America/Puerto_Rico": ("Atlantic Time", "hora del Atlántico"),
}


def long_date(day: dt.date, lang: str) -> str:
    """'Monday, December 14, 2026' / 'lunes, 14 de diciembre de 2026'."""
    weekday = _WEEKDAYS[lang][day.weekday()]
    month = _MONTHS[lang][day.month - 1]
    if lang == "es":
        return f"{weekday}, {day.day} de {month} de {day.year}"
    return f"{weekday}, {month} {day.day}, {day.year}"


def short_date(day: dt.date, lang: str) -> str:
    """'December 14, 2026' / '14 de diciembre de 2026'."""
    month = _MONTHS[lang][day.month - 1]
    if lang == "es":
        return f"{day.day} de {month} de {day.year}"
    return f"{month} {day.day}, {day.year}"


def clock(when: dt.datetime | dt.time, lang: str) -> str:
    """'3:30 p.m.' / '3:30 p. m.' (the RAE's spacing): a 12-hour clock, as families read it."""
    hour = when.hour % 12 or 12
    half = ("a", "p")[when.hour >= 12]
    return (
        f"{hour}:{when.minute:02d} {half}. m."
        if lang == "es"
        else f"{hour}:{when.minute:02d} {half}.m."
    )


def zone_label(when: dt.datetime, timezone: str, lang: str) -> str:
    """'Central Time (CST)' / 'hora del centro (CST)'; an unlisted zone by its IANA name."""
    names = _ZONES.get(timezone)
    name = (names[1] if lang == "es" else names[0]) if names else timezone
    abbreviation = when.tzname() or ""
    if not abbreviation or abbreviation == name or abbreviation[0] in "+-":
        return name
    return f"{name} ({abbreviation})"


# -- rendering -----------------------------------------------------------------------------------


def _in_context_lang(fmt: Callable[[Any, str], str]) -> Callable[..., str]:
    """A filter that formats in the language of the notice being rendered (its `lang`)."""

    @jinja2.pass_context
    def apply(context: jinja2.runtime.Context, value: Any) -> str:
        return fmt(value, str(context.get("lang", "en")))

    return apply


@functools.lru_cache(maxsize=8)
def environment(templates: Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment that looks in the district's folder first, then the shipped templates.

    Autoescaping is on for every template (names and notes come from a roster and a log that
    anyone may have typed into); the sandbox keeps a district template from reaching Python
    internals; an undefined name is an error, not a silently blank line in a legal notice.
    """
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates)))
    loaders.append(jinja2.PackageLoader(SHIPPED, "notices"))
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = _in_context_lang(long_date)
    env.filters["short_date"] = _in_context_lang(short_date)
    env.filters["clock"] = _in_context_lang(clock)
    return env


def render_notice(notice: Notice, *, templates: Path | None = None) -> str:
    """The notice as one self-contained HTML page (inline CSS, no network).

    A broken district template is a UserError naming the file and line, not a traceback.
    """
    env = environment(templates)
    name = template_name(notice.lang)
    try:
        template = env.get_template(name)
        return template.render(
            n=notice,
            lang=notice.lang,
            zone=zone_label(notice.start, notice.timezone, notice.lang),
        )
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name or name} line {exc.lineno}"
        raise UserError(Problem(where, f"template error: {exc.message}")) from exc
    except jinja2.TemplateNotFound as exc:
        raise UserError(Problem(name, f"template not found: {exc.name}")) from exc
    except jinja2.TemplateError as exc:
        raise UserError(Problem(name, f"template error: {exc}")) from exc


def notice_file_name(student_id: str, cycle_type: CycleType = "annual") -> str:
    """`S1001-notice.html` (`S1001-eligibility-notice.html` for a meeting of another type):
    named by student id, never by name. An id with characters a file name should not carry is
    made safe, with a short hash so two such ids never share a file."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", student_id).lstrip("_-") or "student"
    if safe != student_id:
        safe += "-" + hashlib.sha256(student_id.encode("utf-8")).hexdigest()[:8]
    kind = "" if cycle_type == "annual" else f"-{cycle_type}"
    return f"{safe}{kind}-notice.html"


def placed_meetings(plan: StudentPlan) -> list[StudentPlan]:
    """The student's cycles with a meeting of their own that is not held yet, earliest first (a
    reevaluation held at the annual meeting is that meeting: its notice is the annual's)."""
    found = [
        c
        for c in plan.cycles
        if c.combined_with is None and c.meeting is not None and c.meeting.state != "held"
    ]
    return sorted(found, key=lambda c: c.meeting.start if c.meeting else c.today)
