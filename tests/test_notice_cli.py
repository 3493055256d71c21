"""`iepsched notice`: the parents' notice of meeting as the family reads it (SPEC §3.7).

The sample district on its demo night (2026-11-30): S1001 (16, English, two parents, meeting
Mon 2026-12-14 07:45 at Prairie Valley High), S1022 (9, Spanish at home, meeting the same day at
Cottonwood Elementary, reevaluation due 2027-02-08), S1031 (18 at the meeting), S1020 (unplanned).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cli_helpers import TODAY, cli
from click.testing import Result
from hostile import HOSTILE, hostile_config
from notice_helpers import pages


def notice(config: Path, *args: str) -> Result:
    return cli(config, "notice", *args, "--today", TODAY)


def write(config: Path, student: str, tmp_path: Path, *args: str) -> dict[str, str]:
    """Write one student's notice and read its pages back."""
    out = tmp_path / f"{student}.html"
    result = notice(config, student, "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    return pages(out.read_text(encoding="utf-8"))


def log_contact(config: Path, student: str, method: str, who: str, at: str) -> None:
    result = cli(
        config,
        "contact",
        "log",
        student,
        "--method",
        method,
        "--with",
        who,
        "--outcome",
        "left_message",
        "--at",
        at,
        "--today",
        TODAY,
    )
    assert result.exit_code == 0, result.output


# Each element K.A.R. 91-40-17(b) requires, as the English and the Spanish notice say it for
# S1001 (the sample's facts: two parents, case manager Daniela Rivera, two general-education
# teachers, one related-service provider, 16 at the meeting).
ELEMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "title": ("Notice of IEP meeting",),
        "addressed to both parents": ("Renata Thornbury", "Colin Thornbury"),
        "purpose": ("Why we are meeting", "To review Maya's IEP and plan the year ahead."),
        "transition purpose": (
            "To plan for life after high school (transition planning)",
            "Maya is invited.",
        ),
        "date": ("Monday, December 14, 2026",),
        "time and zone": ("7:45 a.m. to 8:45 a.m., Central Time (CST)",),
        "place": ("Prairie Valley High, conference room",),
        "case manager": ("Daniela Rivera, special-education teacher and Maya's case manager",),
        "LEA representative": ("A district representative (LEA representative)",),
        "general-education teachers": ("2 of Maya's general-education teachers",),
        "providers": ("A related-service provider who works with Maya",),
        "bring people": ("You may bring anyone who knows Maya well or has special knowledge",),
        "another time": (
            "If this time does not work for you",
            "please contact Daniela Rivera as soon as you can",
            "cm.rivera@pvsec.example.org",
        ),
    },
    "es": {
        "title": ("Aviso de reunión del IEP",),
        "addressed to both parents": ("Renata Thornbury", "Colin Thornbury"),
        "purpose": (
            "Para qué es la reunión",
            "Para revisar el IEP de Maya y planear el próximo año.",
        ),
        "transition purpose": (
            "Para planear la vida después de la escuela secundaria "
            "(planificación de la transición)",
            "Invitamos a Maya a la reunión.",
        ),
        "date": ("lunes, 14 de diciembre de 2026",),
        "time and zone": ("de 7:45 a. m. a 8:45 a. m., hora del centro (CST)",),
        "place": ("Prairie Valley High, sala de reuniones",),
        "case manager": (
            "Daniela Rivera, docente de educación especial y responsable del caso de Maya",
        ),
        "LEA representative": ("Una persona que representa al distrito (representante de la LEA)",),
        "general-education teachers": ("2 docentes de educación general de Maya",),
        "providers": ("Un especialista de servicios relacionados que trabaja con Maya",),
        "bring people": (
            "Usted puede traer a la reunión a cualquier persona que conozca bien a Maya",
            "conocimientos especiales o experiencia",
        ),
        "another time": (
            "Si la fecha o la hora no le convienen",
            "comuníquese con Daniela Rivera lo antes posible",
            "cm.rivera@pvsec.example.org",
        ),
    },
}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_required_element_is_in_the_notice(
    sample_config: Path, tmp_path: Path, lang: str
) -> None:
    """Purpose, date, time, place, attendee titles, bringing people, another time: each present."""
    letter = write(sample_config, "S1001", tmp_path, "--lang", lang)["notice"]
    missing = [
        f"{element}: {text!r}"
        for element, texts in ELEMENTS[lang].items()
        for text in texts
        if text not in letter
    ]
    assert missing == []


def test_spanish_family_gets_spanish_by_default(sample_config: Path, tmp_path: Path) -> None:
    """A student whose home_language is es gets the Spanish notice without asking for it."""
    out = tmp_path / "S1022.html"
    result = notice(sample_config, "S1022", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert '<html lang="es">' in html
    letter = pages(html)["notice"]
    assert "Aviso de reunión del IEP" in letter
    assert "lunes, 14 de diciembre de 2026" in letter
    assert "Carmen Villanueva 27 Mill Rd, Prairie Valley, KS" in letter  # name and address
    assert "Notice of IEP meeting" not in letter
    assert ", es, to the parents," in result.stdout


def test_lang_overrides_the_home_language(sample_config: Path, tmp_path: Path) -> None:
    """--lang en gives a Spanish-speaking family's notice in English, and --lang es the reverse."""
    english = write(sample_config, "S1022", tmp_path, "--lang", "en")["notice"]
    assert "Notice of IEP meeting" in english and "Aviso" not in english
    spanish = write(sample_config, "S1001", tmp_path, "--lang", "es")["notice"]
    assert "Aviso de reunión del IEP" in spanish


def test_reevaluation_is_a_purpose_only_when_it_is_due_around_the_meeting(
    sample_config: Path, tmp_path: Path
) -> None:
    """S1022's reevaluation is due within 40 school days after the meeting; S1001's is not."""
    s1022 = write(sample_config, "S1022", tmp_path, "--lang", "en")["notice"]
    assert "To talk about Mateo's reevaluation" in s1022
    assert "One of them will explain the evaluation results." in s1022
    s1001 = write(sample_config, "S1001", tmp_path)["notice"]
    assert "reevaluation" not in s1001


def test_under_14_no_transition_and_under_18_not_addressed_to_the_student(
    sample_config: Path, tmp_path: Path
) -> None:
    """A 9-year-old's notice plans no transition, invites no student, names no rights transfer."""
    letter = write(sample_config, "S1022", tmp_path, "--lang", "en")["notice"]
    assert "transition" not in letter and "is invited" not in letter
    assert "(student)" not in letter and "rights at 18" not in letter


@pytest.mark.parametrize(
    ("lang", "to_student", "rights"),
    [
        ("en", "Isla Fairweather (student)", "the special-education rights that parents hold"),
        ("es", "Isla Fairweather (estudiante)", "que tienen los padres pasan a Isla"),
    ],
)
def test_at_18_the_notice_is_addressed_to_the_student_too(
    sample_config: Path, tmp_path: Path, lang: str, to_student: str, rights: str
) -> None:
    """S1031 is 18 at the meeting: addressed to the student as well, saying rights transferred."""
    out = tmp_path / "S1031.html"
    result = notice(sample_config, "S1031", "--out", str(out), "--lang", lang)
    assert result.exit_code == 0, result.output
    letter = pages(out.read_text(encoding="utf-8"))["notice"]
    assert to_student in letter
    assert "Moira Fairweather" in letter  # the parents still get it
    assert rights in letter
    assert "to the parents and student" in result.stdout


def test_notice_file_is_private(sample_config: Path, tmp_path: Path) -> None:
    """The notice holds names and addresses: mode 0600, however permissive the umask."""
    out = tmp_path / "S1001.html"
    assert notice(sample_config, "S1001", "--out", str(out)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_contact_page_lists_this_cycles_contacts(sample_config: Path, tmp_path: Path) -> None:
    """Page 2 lists the student's contacts of this cycle: not another student's, nor last year's."""
    log_contact(sample_config, "S1001", "phone", "Renata Thornbury", "2026-11-20T15:45")
    log_contact(sample_config, "S1001", "email", "Colin Thornbury", "2026-11-24")
    log_contact(sample_config, "S1001", "letter", "Last year's contact", "2025-11-24")
    log_contact(sample_config, "S1002", "text", "Sigrid Brandvold", "2026-11-25")
    contacts = write(sample_config, "S1001", tmp_path)["contacts"]
    assert "Contacts about this meeting" in contacts
    assert (
        "November 20, 2026, 3:45 p.m. Phone call Renata Thornbury Left a message "
        "November 24, 2026, 12:00 p.m. Email Colin Thornbury Left a message"
    ) in contacts
    assert "Last year's contact" not in contacts and "Sigrid" not in contacts
    assert "by November 30, 2026. This is done." in contacts
    spanish = write(sample_config, "S1001", tmp_path, "--lang", "es")["contacts"]
    assert "20 de noviembre de 2026, 3:45 p. m. Llamada telefónica Renata Thornbury" in spanish


def test_contact_page_says_when_nothing_is_logged(sample_config: Path, tmp_path: Path) -> None:
    """With no state file yet, page 2 says no contacts are logged (it is never left blank)."""
    contacts = write(sample_config, "S1001", tmp_path)["contacts"]
    assert "No contacts have been logged for this meeting yet." in contacts


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    """Names and a logged contact's text reach the page as text, never as markup."""
    config = hostile_config(tmp_path)
    log_contact(config, "H001", "phone", "<img src=x onerror=alert(2)>", "2026-11-20T10:00")
    out = tmp_path / "H001.html"
    result = notice(config, "H001", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = pages(html)
    first, last = HOSTILE[0][1], HOSTILE[0][2]
    assert f"{first} {last}" in text["notice"]
    assert "<img src=x onerror=alert(2)>" in text["contacts"]
    quoted = tmp_path / "H002.html"
    assert notice(config, "H002", "--out", str(quoted)).exit_code == 0
    assert "O&#39;Brien, &#34;Jr&#34;" in quoted.read_text(encoding="utf-8")


def test_unknown_student_exits_2(sample_config: Path, tmp_path: Path) -> None:
    """An id not in the roster is an error naming the roster, and no file is written."""
    out = tmp_path / "x.html"
    result = notice(sample_config, "S9999", "--out", str(out))
    assert result.exit_code == 2
    assert "no student with id 'S9999' in the roster" in result.stderr
    assert not out.exists()


def test_meeting_not_placed_exits_2(sample_config: Path, tmp_path: Path) -> None:
    """An unplanned student (S1020: a school year not loaded) has no notice: a clear error."""
    out = tmp_path / "S1020.html"
    result = notice(sample_config, "S1020", "--out", str(out))
    assert result.exit_code == 2
    assert "the meeting is not placed yet" in result.stderr
    assert not out.exists()


def _meetings_within(config: Path, days: int) -> list[str]:
    """From `plan --all --format json`: the student id of each meeting after TODAY and within
    `days`, once per meeting (a reevaluation held at the annual meeting shares its meeting)."""
    import datetime as dt

    rows = json.loads(cli(config, "plan", "--all", "--format", "json", "--today", TODAY).stdout)
    first = dt.date.fromisoformat(TODAY)
    meetings = {
        (r["student_id"], r["meeting"])
        for r in rows
        if r["meeting"] and 0 < (dt.date.fromisoformat(r["meeting"][:10]) - first).days <= days
    }
    return sorted(sid for sid, _ in meetings)


def test_all_writes_one_private_file_per_meeting_of_the_next_days(
    sample_config: Path, tmp_path: Path
) -> None:
    """--all --days 14 writes exactly the meetings after today and within 14 days, one file per
    meeting named by id (and the cycle type, but for the annual review)."""
    out = tmp_path / "notices"
    result = notice(sample_config, "--all", "--days", "14", "--out", str(out))
    assert result.exit_code == 0, result.output
    # S1022's reevaluation is held at its annual meeting: one meeting, one notice.
    annual = ["S1001", "S1005", "S1014", "S1022", "S1030", "S1036", "S1040"]
    other = {"S1047": "transfer", "S1048": "transfer", "S1050": "eligibility"}
    other |= {"S1051": "initial_iep"}
    assert _meetings_within(sample_config, 14) == sorted(annual + list(other))
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(
        [f"{sid}-notice.html" for sid in annual]
        + [f"{sid}-{kind}-notice.html" for sid, kind in other.items()]
    )
    assert all(stat.S_IMODE((out / f).stat().st_mode) == 0o600 for f in files)
    written = sorted(line.split(": ")[0] for line in result.stdout.splitlines())
    assert written == [str(out / name) for name in files]  # one summary line per file
    assert "Maya" not in result.stdout and "Thornbury" not in result.stdout  # ids, never names
    # S1022's file is in Spanish, the others in English.
    assert "Aviso de reunión" in (out / "S1022-notice.html").read_text(encoding="utf-8")


def test_all_with_fewer_days_picks_fewer(sample_config: Path, tmp_path: Path) -> None:
    """--days 10 stops at 2026-12-10: the three meetings of that day, none of the 14th's."""
    out = tmp_path / "notices"
    result = notice(sample_config, "--all", "--days", "10", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name[:5] for p in out.iterdir()) == ["S1005", "S1014", "S1036"]


def test_all_with_no_meeting_in_range_says_so(sample_config: Path, tmp_path: Path) -> None:
    """No meeting in the next day: nothing is written, and stderr says so (exit 0)."""
    out = tmp_path / "notices"
    result = notice(sample_config, "--all", "--days", "1", "--out", str(out))
    assert result.exit_code == 0
    assert list(out.iterdir()) == []
    assert "no notice written" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--out", "x.html"),  # neither STUDENT nor --all
        ("S1001", "--all", "--out", "x"),  # both
        ("S1001", "--days", "3", "--out", "x.html"),  # --days without --all
    ],
)
def test_usage_errors_exit_2(sample_config: Path, args: tuple[str, ...]) -> None:
    """A command that cannot mean one thing is refused before anything is planned."""
    assert notice(sample_config, *args).exit_code == 2


def test_district_templates_replace_the_wording(sample_config: Path, tmp_path: Path) -> None:
    """A template in --templates DIR is used instead of the shipped one of the same name."""
    own = tmp_path / "our-notices"
    own.mkdir()
    (own / "notice.en.html.j2").write_text(
        '{% extends "layout.html.j2" %}{% block title %}Our notice{% endblock %}'
        "{% block letter %}<p>Our own words for {{ n.first_name }} on "
        "{{ n.start | long_date }}.</p>{% endblock %}{% block contacts %}{% endblock %}",
        encoding="utf-8",
    )
    letter = write(sample_config, "S1001", tmp_path, "--templates", str(own))["notice"]
    assert letter == "Our own words for Maya on Monday, December 14, 2026."
    spanish = write(sample_config, "S1022", tmp_path, "--templates", str(own))["notice"]
    assert "Aviso de reunión del IEP" in spanish  # not overridden: the shipped one


def test_broken_district_template_is_an_error_naming_it(
    sample_config: Path, tmp_path: Path
) -> None:
    """A template mistake is exit 2 naming the file and line, not a traceback."""
    own = tmp_path / "our-notices"
    own.mkdir()
    (own / "notice.en.html.j2").write_text("line one\n{% if %}\n", encoding="utf-8")
    result = notice(
        sample_config, "S1001", "--out", str(tmp_path / "x.html"), "--templates", str(own)
    )
    assert result.exit_code == 2
    assert "notice.en.html.j2 line 2" in result.stderr
