"""The parents' notice for every kind of meeting (SPEC §3.6, §3.7): its purpose from the meeting's
cycle type in English and Spanish, `notice --type`, and `notice --all` over every cycle."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import TODAY as CLI_TODAY
from cli_helpers import cli
from cycle_plans import CHICAGO, HOSTILE, TODAY, cycle, every_cycle, meeting, step, student
from notice_helpers import pages

from iepsched.core.model import CycleType, DistrictPlan, StudentPlan
from iepsched.outputs.notice import build_notice, notice_file_name, placed_meetings, render_notice

# What every notice must say whatever its type (K.A.R. 91-40-17(b)), per language.
COMMON: dict[str, tuple[str, ...]] = {
    "en": (
        "Rosa Ruiz",  # addressed to the decision maker
        "Why we are meeting",
        "3:30 p.m. to 4:30 p.m., Central Time",
        "North High",
        "A district representative (LEA representative)",
        "You may bring anyone who knows Ana well or has special knowledge",
        "If this time does not work for you",
        "cm@example.org",
    ),
    "es": (
        "Rosa Ruiz",
        "Para qué es la reunión",
        "de 3:30 p. m. a 4:30 p. m., hora del centro",
        "North High",
        "Una persona que representa al distrito (representante de la LEA)",
        "Usted puede traer a la reunión a cualquier persona que conozca bien a Ana",
        "Si la fecha o la hora no le convienen",
        "cm@example.org",
    ),
}
# The title and the purpose sentence of each type, per language.
BY_TYPE: dict[CycleType, dict[str, tuple[str, str]]] = {
    "annual": {
        "en": ("Notice of IEP meeting", "To review Ana's IEP and plan the year ahead."),
        "es": ("Aviso de reunión del IEP", "Para revisar el IEP de Ana y planear el próximo año."),
    },
    "eligibility": {
        "en": (
            "Notice of meeting about special education eligibility",
            "To go over the results of Ana's evaluation, and to decide together whether Ana can "
            "get special education services (eligibility).",
        ),
        "es": (
            "Aviso de reunión sobre la elegibilidad para educación especial",
            "Para hablar de los resultados de la evaluación de Ana y decidir juntos si Ana puede "
            "recibir servicios de educación especial (elegibilidad).",
        ),
    },
    "initial_iep": {
        "en": ("Notice of meeting to write the first IEP", "To write Ana's first IEP together"),
        "es": ("Aviso de reunión para escribir el primer IEP", "el primer IEP de Ana"),
    },
    "amendment": {
        "en": ("Notice of meeting to change the IEP", "a change to Ana's IEP (an amendment)"),
        "es": ("Aviso de reunión para cambiar el IEP", "un cambio en el IEP de Ana (una enmienda)"),
    },
    "reevaluation": {
        "en": ("Notice of reevaluation meeting", "To talk about Ana's reevaluation"),
        "es": ("Aviso de reunión de reevaluación", "Para hablar de la reevaluación de Ana"),
    },
    "transfer": {
        "en": ("Notice of IEP meeting for a new student", "Ana is new to our schools."),
        "es": (
            "Aviso de reunión del IEP para un estudiante nuevo",
            "Ana es nuevo en nuestras escuelas.",
        ),
    },
}
DAY = dt.date(2026, 12, 15)


def _plan(cycle_type: CycleType, **changes: object) -> tuple[StudentPlan, StudentPlan]:
    """A student whose plan has an annual cycle and, for another type, that cycle as well."""
    s = student(**changes)
    top = cycle(s, "annual", s.due_date, meeting(dt.date(2027, 1, 6)), ())
    if cycle_type == "annual":
        return top, top
    other = cycle(s, cycle_type, dt.date(2027, 1, 12), meeting(DAY), ())
    return replace(top, others=(other,)), other


def _render(top: StudentPlan, c: StudentPlan, lang: str, **args: Any) -> dict[str, str]:
    facts = build_notice(
        top,
        lang=lang,  # type: ignore[arg-type]
        issued_on=TODAY,
        district_name="Test District",
        timezone="America/Chicago",
        tz=CHICAGO,
        room="",
        rights_transfer_age=18,
        contacts=(),
        calendar=None,
        cycle=c,
        **args,
    )
    return pages(render_notice(facts))


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("cycle_type", list(BY_TYPE))
def test_every_type_has_its_purpose_and_every_required_element(
    cycle_type: CycleType, lang: str
) -> None:
    """Each type's notice names its own purpose and title, and every element the law requires."""
    top, c = _plan(cycle_type)
    letter = _render(top, c, lang)["notice"]
    title, purpose = BY_TYPE[cycle_type][lang]
    wanted = (title, purpose, *COMMON[lang])
    assert [text for text in wanted if text not in letter] == []
    others = [p for t, by in BY_TYPE.items() if t != cycle_type for p in (by[lang][1],)]
    assert [p for p in others if p in letter] == []  # no other type's purpose
    assert ("Annual" not in letter) if cycle_type != "annual" else True


@pytest.mark.parametrize("lang", ["en", "es"])
def test_combined_annual_and_reevaluation_lists_both(lang: str) -> None:
    """The annual meeting that is also the reevaluation meeting names both purposes."""
    top = every_cycle()
    letter = _render(top, top, lang)["notice"]
    assert BY_TYPE["annual"][lang][1] in letter
    assert BY_TYPE["reevaluation"][lang][1] in letter
    assert BY_TYPE["annual"][lang][0] in letter  # titled as the annual review


def test_transition_from_14_on_cycles_without_an_invite_step_never_at_eligibility() -> None:
    """A transfer or amendment meeting at 16 plans transition (the rules' age); eligibility not."""
    older = {"birth_date": dt.date(2010, 6, 1)}
    for kind, expected in (("transfer", True), ("amendment", True), ("eligibility", False)):
        top, c = _plan(kind, **older)  # type: ignore[arg-type]
        letter = _render(top, c, "en", transition_age=14)["notice"]
        assert ("To plan for life after high school" in letter) is expected, kind
    top, c = _plan("transfer", birth_date=dt.date(2014, 6, 1))  # 12 at the meeting
    assert "life after high school" not in _render(top, c, "en", transition_age=14)["notice"]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("cycle_type", list(BY_TYPE))
def test_hostile_names_are_escaped_in_every_type(cycle_type: CycleType, lang: str) -> None:
    """A hostile name reaches each type's page as text, never as markup."""
    top, c = _plan(cycle_type, first_name=HOSTILE, last_name="O'Brien")
    facts = build_notice(
        top,
        lang=lang,  # type: ignore[arg-type]
        issued_on=TODAY,
        district_name=HOSTILE,
        timezone="America/Chicago",
        tz=CHICAGO,
        room="",
        rights_transfer_age=18,
        contacts=(),
        calendar=None,
        cycle=c,
    )
    html = render_notice(facts)
    assert "<script>" not in html and HOSTILE not in html
    assert "&lt;script&gt;" in html
    assert HOSTILE in pages(html)["notice"]


def test_placed_meetings_and_file_names() -> None:
    """The next placed meetings of any cycle, earliest first; the combined one is the annual's;
    files of another type carry it in their name."""
    top = every_cycle()
    assert [c.cycle_type for c in placed_meetings(top)] == ["eligibility", "annual"]
    assert notice_file_name("S1") == "S1-notice.html"
    assert notice_file_name("S1", "eligibility") == "S1-eligibility-notice.html"


def _with_eligibility(monkeypatch: pytest.MonkeyPatch) -> None:
    """S1001 (annual meeting 2026-12-14) also has an eligibility meeting on 2026-12-10."""
    import iepsched.service.district as district

    real = district.plan_with_state

    def plan_with_state(*args: Any, **kwargs: Any) -> DistrictPlan:
        result = real(*args, **kwargs)
        plans = []
        for p in result.plans:
            if p.student_id == "S1001":
                met = meeting(dt.date(2026, 12, 10))
                steps = (step("meeting", met.date, "Eligibility meeting", delivery="event"),)
                elig = cycle(p.student, "eligibility", dt.date(2027, 1, 12), met, steps)
                p = replace(p, others=(replace(elig, today=p.today),))
            plans.append(p)
        return replace(result, plans=tuple(plans), by_id={})

    monkeypatch.setattr(district, "plan_with_state", plan_with_state)


def test_cli_notice_picks_the_next_meeting_and_type_chooses(
    monkeypatch: pytest.MonkeyPatch, sample_config: Path, tmp_path: Path
) -> None:
    """`notice S1001` writes the eligibility notice (the next meeting); --type annual the annual
    one; --type transfer is an error naming the placed meetings."""
    _with_eligibility(monkeypatch)
    out = tmp_path / "n.html"
    first = cli(sample_config, "notice", "S1001", "--out", str(out), "--today", CLI_TODAY)
    assert first.exit_code == 0, first.output
    assert "(eligibility / initial evaluation), en, to the parents" in first.stdout
    assert "special education eligibility" in out.read_text(encoding="utf-8")
    args = ("--out", str(out), "--today", CLI_TODAY, "--type")
    annual = cli(sample_config, "notice", "S1001", *args, "annual")
    assert annual.exit_code == 0 and "(annual review, transition)" in annual.stdout
    missing = cli(sample_config, "notice", "S1001", *args, "transfer")
    assert missing.exit_code == 2
    assert "no transfer IEP meeting is placed (placed meetings: annual, eligibility)" in (
        missing.stderr
    )


def test_cli_notice_all_writes_every_placed_meeting(
    monkeypatch: pytest.MonkeyPatch, sample_config: Path, tmp_path: Path
) -> None:
    """`notice --all` writes S1001's annual and eligibility notices, the latter named by type."""
    _with_eligibility(monkeypatch)
    out = tmp_path / "all"
    result = cli(sample_config, "notice", "--all", "--out", str(out), "--today", CLI_TODAY)
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"S1001-notice.html", "S1001-eligibility-notice.html"} <= names
    assert json.dumps(sorted(names)).count("S1001") == 2


def test_type_reevaluation_held_at_the_annual_meeting_is_the_annual_notice() -> None:
    """`--type reevaluation` for a reevaluation combined with the annual meeting picks that
    meeting (one notice, both purposes); a type with no placed meeting is a UserError."""
    from iepsched.cli.notice_cmd import _cycle_of
    from iepsched.core.errors import UserError

    top = every_cycle()
    assert _cycle_of(top, "reevaluation") is top
    assert _cycle_of(top, None).cycle_type == "eligibility"
    assert _cycle_of(top, "eligibility").cycle_type == "eligibility"
    with pytest.raises(UserError, match="no transfer IEP meeting is placed"):
        _cycle_of(top, "transfer")
