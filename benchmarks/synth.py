"""A seeded synthetic district: roster CSV, the sample calendars and a config, in a folder.

Realistic shape: ~25 students per case manager, one LEA per building, several gen-ed teachers and
providers, due dates spread over 14 months from `start`, a third with a reevaluation date.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "config"
CALENDARS = (
    ("calendars/usd901-prairie-valley.toml", "usd901"),
    ("calendars/usd902-bluestem.toml", "usd902"),
)
STUDENTS_PER_BUILDING = 100  # special-education students: one conference room each
FIELDS = [
    "student_id",
    "first_name",
    "last_name",
    "birth_date",
    "grade",
    "building",
    "case_manager_email",
    "lea_email",
    "gen_ed_emails",
    "provider_emails",
    "decision_maker_1_name",
    "decision_maker_1_email",
    "decision_maker_1_phone",
    "student_email",
    "last_iep_date",
    "iep_due_date",
    "reeval_due_date",
    "status",
]


def generate(
    out: Path,
    *,
    students: int,
    seed: int = 1,
    start: dt.date = dt.date(2026, 12, 1),
    per_case_manager: int = 25,
    endpoint: str = "https://graph.microsoft.com/v1.0",
    authority: str = "",
    per_lea: int | None = None,
    per_teacher: int | None = None,
) -> Path:
    """Write a district of `students` into `out`; returns the config path.

    `per_lea` and `per_teacher` (students per LEA representative and per general-education
    teacher) give the contended sharing of a real cooperative (e.g. 400 and 60): one LEA then
    serves several buildings, and a building has a few teachers who teach most of its students.
    Left None, LEAs and teachers are as plentiful as before (about 40 and 16 students each).
    """
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calendars").mkdir(exist_ok=True)
    for cal, _ in CALENDARS:
        shutil.copy(SAMPLE / cal, out / cal)
    buildings = [
        (f"Building {n:03d}", *CALENDARS[n % len(CALENDARS)])
        for n in range(max(1, students // STUDENTS_PER_BUILDING))
    ]
    case_managers = max(1, students // per_case_manager)
    # An LEA representative covers ~40 students and a building has a teacher per ~8: with fewer,
    # their two meeting slots a day cannot hold every IEP meeting of a year.
    leas = max(1, students // 40)
    teachers_pool = 12  # general-education teachers per building who teach these students
    if per_teacher is not None:
        # About two teachers per student: a building's 100 students need 200 / per_teacher.
        teachers_pool = max(1, round(STUDENTS_PER_BUILDING * 2 / per_teacher))
    lea_buildings = max(1, (per_lea or 0) // STUDENTS_PER_BUILDING)
    with (out / "roster.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIELDS)
        for i in range(students):
            building, _, district = buildings[i % len(buildings)]
            cm = f"cm{i % case_managers:04d}@{district}.example.org"
            slug = building.split()[1]
            teachers = ";".join(
                f"teacher{rng.randrange(teachers_pool):04d}.{slug}@{district}.example.org"
                for _ in range(rng.randint(1, 3))
            )
            providers = ";".join(
                f"provider{rng.randrange(12):02d}@{district}.example.org"
                for _ in range(rng.randint(0, 2))
            )
            due = start + dt.timedelta(days=rng.randrange(420))
            age = rng.randint(5, 19)
            birth = due - dt.timedelta(days=age * 365 + rng.randrange(365))
            use_last = rng.random() < 0.5
            writer.writerow(
                [
                    f"Z{i:06d}",
                    f"First{i}",
                    f"Last{i}",
                    birth.isoformat(),
                    str(max(0, min(12, age - 5))),
                    building,
                    cm,
                    f"lea{i % leas:03d}.{slug}@{district}.example.org"
                    if per_lea is None
                    else f"lea{(i % len(buildings)) // lea_buildings:03d}@coop.example.org",
                    teachers,
                    providers,
                    f"Parent{i}",
                    f"parent{i}@family.example.org",
                    "555-0100",
                    f"s{i}@students.example.org" if age >= 14 else "",
                    (due - dt.timedelta(days=364)).isoformat() if use_last else "",
                    "" if use_last else due.isoformat(),
                    (due + dt.timedelta(days=rng.randrange(300))).isoformat()
                    if rng.random() < 0.33
                    else "",
                    "active",
                ]
            )
    rooms = "\n".join(f'"{b}" = "room.{b.split()[1]}@{d}.example.org"' for b, _, d in buildings)
    building_calendars = "\n".join(f'"{b}" = "{c}"' for b, c, _ in buildings)
    graph = f'endpoint = "{endpoint}"\n'
    if authority:
        graph += f'authority = "{authority}"\ntenant_id = "sandbox-tenant"\nclient_id = "bench"\n'
    config = out / "iepsched.toml"
    config.write_text(
        f"""[district]
name = "Synthetic district ({students} students, seed {seed})"
timezone = "America/Chicago"

[roster]
path = "roster.csv"

[calendar]
path = "calendars/usd901-prairie-valley.toml"

[calendar.buildings]
{building_calendars}

[meetings]
slots = ["07:45", "15:30"]
duration_minutes = 60
max_per_day = 2

[rooms]
{rooms}

[graph]
{graph}
[state]
path = "state/iepsched.sqlite"

[safety]
max_cancellations = 100000
""",
        encoding="utf-8",
    )
    return config
