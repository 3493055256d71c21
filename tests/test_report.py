"""The HTML report: content a coordinator relies on, offline-only, and escaping of every value."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hostile import HOSTILE, hostile_config

from iepsched.core.model import Contact, DistrictPlan, SkippedRow, StudentPlan
from iepsched.inputs.config import load_config
from iepsched.outputs.cycleview import own_warning_texts
from iepsched.outputs.report import html_report, next_action, write_html_report
from iepsched.service.district import load_district, plan_with_state
from iepsched.state.store import StateStore

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 30)
CHICAGO = ZoneInfo("America/Chicago")
GENERATED = dt.datetime(2026, 11, 30, 6, 15, tzinfo=CHICAGO)
VOID = {"meta", "br", "input", "img", "link", "hr", "wbr", "col", "source"}


@dataclasses.dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = dataclasses.field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find_all(self, tag: str = "", cls: str = "", **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if (not tag or n.tag == tag)
            and (not cls or cls in n.attrs.get("class", "").split())
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str = "", cls: str = "", **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, (tag, cls, attrs)
        return found[0]


class TreeBuilder(HTMLParser):
    """A strict little DOM: every non-void element must be closed by its own end tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(text: str) -> Node:
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def section(doc: Node, ident: str) -> Node:
    return doc.find("section", id=ident)


def report(plan: DistrictPlan, **kw: object) -> str:
    args: dict[str, object] = {
        "district_name": "Prairie Valley",
        "today": plan.today,
        "contacts_by_student": {},
        "generated_at": GENERATED,
    }
    args.update(kw)
    return html_report(plan, **args)  # type: ignore[arg-type]


@cache
def sample() -> DistrictPlan:
    district = load_district(load_config(ROOT / "config" / "iepsched.toml"))
    return plan_with_state(district, today=TODAY)


@cache
def sample_html() -> str:
    return report(sample())


@cache
def sample_doc() -> Node:
    return parse(sample_html())


def test_report_is_well_formed_and_titled() -> None:
    """The report parses as balanced HTML with the district and date in title and header."""
    doc = sample_doc()
    assert doc.find("title").text() == "IEP compliance report — Prairie Valley — 2026-11-30"
    assert "as of 2026-11-30" in doc.find("header").text()
    assert doc.find("html").attrs["lang"] == "en"


def test_status_counts_match_the_plan() -> None:
    """The summary shows one count per status, equal to the plan's."""
    cards = section(sample_doc(), "summary").find_all("li", cls="count")
    shown = {c.find("span", cls="what").text(): int(c.find("span", cls="n").text()) for c in cards}
    assert shown == {"Overdue": 2, "Infeasible": 1, "Unplanned": 1, "At risk": 13, "On track": 32}
    assert sum(shown.values()) == len(sample().plans) == 49


def test_attention_lists_every_flagged_cycle_with_warning_and_action() -> None:
    """Every overdue, infeasible, unplanned and at-risk cycle (SPEC §3.6: each open cycle has
    its own status; a student with one cycle is flagged by the student's status) is listed,
    most urgent first, with all of its warnings and its next action."""
    rows = section(sample_doc(), "attention").find("tbody").find_all("tr")
    flagged = {
        (p.student_id, c.due_date.isoformat()): dataclasses.replace(c, status=c.own_status)
        for p in sample().plans
        for c in p.cycles
        if c.combined_with is None and (c.own_status if p.others else c.status) != "on_track"
    }

    def key(row: Node) -> tuple[str, str]:
        due = re.search(r"due\s(\d{4}-\d\d-\d\d)", row.find_all("td")[2].text())
        assert due is not None
        return row.find("a").text(), due[1]

    assert sorted(key(r) for r in rows) == sorted(flagged)
    # A separate reevaluation is a row of its own (S1001); one held at the annual meeting (S1022,
    # S1028) is not: its late consent step is on the annual row. S1047's transfer is a row, not
    # its on-track annual review.
    assert ("S1001", "2027-03-02") in flagged
    assert not {("S1022", "2027-02-08"), ("S1028", "2027-01-25")} & set(flagged)
    for sid in ("S1022", "S1028"):
        annual = sample().by_id[sid]
        assert (sid, annual.due_date.isoformat()) in flagged
        assert any("reevaluation" in w for w in annual.warning_texts)
    assert ("S1047", "2026-12-16") in flagged and ("S1047", "2027-04-12") not in flagged
    statuses = [r.attrs["data-status"] for r in rows]
    assert statuses[:4] == ["overdue", "overdue", "infeasible", "unplanned"]
    assert set(statuses[4:]) == {"at_risk"}
    for row in rows:
        cycle = flagged[key(row)]
        warnings = [li.text() for li in row.find("ul", cls="warnings").find_all("li")]
        assert warnings == list(own_warning_texts(cycle)) and warnings
        assert row.find("td", cls="action").text() == next_action(cycle)
        assert cycle.student.first_name not in row.text()  # names only in timeline headings


def test_next_actions_by_status() -> None:
    """The next action names the step to take for each kind of trouble."""
    by_id = sample().by_id
    assert next_action(by_id["S1036"]).startswith("Hold the IEP meeting now: the earliest slot")
    assert next_action(by_id["S1014"]) == "Find a slot on or before 2026-12-08 for the team."
    assert next_action(by_id["S1020"]) == "Load the missing school year's calendar."
    assert next_action(by_id["S1030"]).startswith("Do now: Begin developing the IEP (was due")
    assert next_action(by_id["S1009"]).startswith("Next: ")


@pytest.mark.parametrize("student", ["S1022", "S1028"])
def test_next_action_puts_the_annual_steps_before_an_old_reevaluation_consent(
    student: str,
) -> None:
    """With the annual cycle's contacts and notice open, the next action is the annual cycle's
    most urgent step, not a reevaluation consent that is merely older."""
    plan = sample().by_id[student]
    late = [m for m in plan.milestones if m.status == "overdue"]
    assert late[0].key == "reeval_consent"  # the old behaviour picked this one
    annual = next(m for m in late if m.track == "annual")
    action = next_action(plan)
    assert action.startswith(f"Do now: {annual.title} (was due {annual.date}).")
    assert f"{len(late) - 1} other steps late" in action


def test_next_action_when_only_due_soon_steps_are_open() -> None:
    """Nothing late: the next action is the earliest step due soon, with its date."""
    plan = sample().by_id["S1030"]
    soon = [
        m._replace(status="upcoming" if m.status == "overdue" else m.status)
        for m in plan.milestones
    ]
    relaxed = dataclasses.replace(plan, milestones=tuple(soon))
    first = next(m for m in soon if m.status == "due_soon")
    assert next_action(relaxed) == f"Do now: {first.title} (due {first.date})."


def test_month_calendar_has_one_table_per_month() -> None:
    """Meetings sit in one calendar table per month, from the first meeting to the last; every
    cycle's meeting is there once (a reevaluation held at the annual meeting is that meeting)."""
    tables = section(sample_doc(), "calendar").find_all("table", cls="month")
    captions = [t.find("caption").text().split(" — ")[0] for t in tables]
    # The last meeting is S1046's separate reevaluation (DUE 2028-04-25): 17 months.
    assert captions[0] == "December 2026" and captions[-1] == "April 2028"
    assert len(captions) == 17
    meetings = {
        (p.student_id, c.meeting.start)
        for p in sample().plans
        for c in p.cycles
        if c.meeting is not None
    }
    # 48 students' first cycles meet (S1020 is unplanned), and 13 of the 16 other cycles meet
    # apart (S1016's, S1022's and S1028's reevaluations are held at the annual meeting).
    assert len(meetings) == 48 + 13
    entries = [li for t in tables for li in t.find_all("li", cls="mtg")]
    assert len(entries) == len(meetings)
    december = tables[0]
    day10 = next(
        td
        for td in december.find_all("td")
        if td.find_all("span", cls="dn") and td.find("span", cls="dn").text() == "10"
    )
    assert {a.text() for a in day10.find_all("a")} == {"S1005", "S1014", "S1036"}
    assert "07:45" in day10.text()
    total = sum(int(re.search(r"(\d+) meeting", t.find("caption").text())[1]) for t in tables)  # type: ignore[index]
    assert total == len(meetings)


def test_timelines_show_every_student_with_milestones() -> None:
    """Each student has a timeline: name in the heading, every milestone with date and status."""
    doc = sample_doc()
    articles = section(doc, "timelines").find_all("article", cls="student")
    assert len(articles) == 49
    plan = sample().by_id["S1001"]
    article = doc.find("article", id="s-S1001")
    assert "Maya Thornbury" in article.find("h3").text()
    rows = article.find("table", cls="timeline").find("tbody").find_all("tr")
    assert len(rows) == len(plan.milestones)
    first = rows[0].find_all("td")
    assert first[0].text() == plan.milestones[0].date.isoformat()  # type: ignore[union-attr]
    assert first[2].text() == "overdue"
    assert "not met yet" in article.find("p", cls="contacts").text()


def test_filters_cover_case_managers_buildings_and_statuses() -> None:
    """Filter selects list every case manager, building and present status; every listed
    student element carries the attributes the script filters on."""
    doc = sample_doc()
    filters = doc.find("section", id="filters")
    assert "hidden" in filters.attrs  # shown by the script; without JavaScript nothing is hidden

    def options(ident: str) -> list[str]:
        return [o.attrs["value"] for o in filters.find("select", id=ident).find_all("option")][1:]

    plans = sample().plans
    labels = {p.student.case_manager_email: p.student.case_manager_label for p in plans}
    assert sorted(options("f-cm")) == sorted(labels)
    shown = [
        (o.attrs["value"], o.text()) for o in filters.find("select", id="f-cm").find_all("option")
    ][1:]
    assert shown == sorted(labels.items(), key=lambda pair: pair[1].casefold())
    assert ("cm.rivera@pvsec.example.org", "Daniela Rivera") in shown  # by name, not email
    assert ("cm.tran@pvsec.example.org", "cm.tran@pvsec.example.org") in shown  # no name given
    assert options("f-building") == sorted({p.student.building for p in plans})
    assert options("f-status") == ["overdue", "infeasible", "unplanned", "at_risk", "on_track"]
    for node in doc.find_all(cls="flt"):
        assert {"data-cm", "data-building", "data-status"} <= set(node.attrs)
    scripts = doc.find_all("script")
    assert len(scripts) == 1 and "f-status" in scripts[0].text()


def test_print_rules_hide_filters_and_keep_timelines_whole() -> None:
    """The print stylesheet hides the filters and avoids splitting a timeline or month."""
    css = sample_doc().find("style").text()
    media = css[css.index("@media print") :]
    assert ".filters" in media and "display:none" in media
    assert "article.student" in media and "break-inside:avoid" in media
    assert "table.month" in media


def _resource_urls(doc: Node) -> list[str]:
    urls = []
    for node in doc.walk():
        for name in ("src", "href", "action", "data", "poster", "srcset", "formaction"):
            if name in node.attrs:
                urls.append(node.attrs[name])
    return urls


def test_no_external_resources() -> None:
    """The report loads nothing: no URLs with a scheme or //, no external tags, no CSS url()."""
    text = sample_html()
    assert "http://" not in text and "https://" not in text
    doc = sample_doc()
    for url in _resource_urls(doc):
        assert url.startswith("#"), url
    assert not doc.find_all("link") and not doc.find_all("img") and not doc.find_all("iframe")
    assert all("src" not in s.attrs for s in doc.find_all("script"))
    css = doc.find("style").text()
    assert "url(" not in css and "@import" not in css
    assert not re.search(r"""["'(]\s*//""", text)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[DistrictPlan, str]:
    """The hostile roster's plan, with a hostile contact logged, and its report."""
    tmp = tmp_path_factory.mktemp("hostile")
    district = load_district(load_config(hostile_config(tmp)))
    contact = Contact(
        "H002",
        dt.datetime(2026, 11, 20, 9, 0, tzinfo=CHICAGO),
        "phone",
        '<b>Mrs</b> "O\'Brien", =1+1',
        "reached",
        note="<script>alert('note')</script> SECRET NOTE",
    )
    with StateStore(tmp / "state.sqlite") as store:
        store.log_contact(contact)
        plan = plan_with_state(district, today=TODAY, store=store)
        contacts = store.contacts()
    problems = ['roster.csv line 9, column first_name: "<img src=x onerror=alert(1)>"']
    text = report(
        plan,
        district_name='<Coop> & "Friends"',
        contacts_by_student={"H002": contacts},
        problems=problems,
    )
    return plan, text


def test_hostile_names_render_as_text(hostile: tuple[DistrictPlan, str]) -> None:
    """Names with markup, quotes, commas and newlines are escaped: the page has only our own
    script and elements, and each name reads back exactly, once, in its heading."""
    _, text = hostile
    doc = parse(text)
    assert len(doc.find_all("script")) == 1
    assert not doc.find_all("img") and not doc.find_all("b")
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    for sid, first, last, _ in HOSTILE:
        heading = doc.find("article", id=f"s-{sid}").find("h3").text()
        assert f"{first} {last}" in heading
        page_text = doc.text()
        assert page_text.count(last) == 1, last
    assert doc.find("title").text().startswith('IEP compliance report — <Coop> & "Friends"')


def test_hostile_values_keep_attributes_intact(hostile: tuple[DistrictPlan, str]) -> None:
    """Attribute values (filters, anchors) come back exactly: quotes cannot break out."""
    _, text = hostile
    doc = parse(text)
    for node in doc.find_all(cls="flt"):
        assert set(node.attrs) <= {
            "class",
            "id",
            "data-cm",
            "data-building",
            "data-status",
            "data-facts",
            "title",
        }


def test_contact_notes_never_shown(hostile: tuple[DistrictPlan, str]) -> None:
    """The report shows which contacts were logged but never their notes or whom they reached."""
    _, text = hostile
    assert "SECRET NOTE" not in text and "alert('note')" not in text
    assert "O&#x27;Brien&quot;, =1+1" not in text
    article = parse(text).find("article", id="s-H002")
    assert "2026-11-20 phone (reached)" in article.find("p", cls="contacts").text()


def test_problems_and_preview_are_shown_escaped(hostile: tuple[DistrictPlan, str]) -> None:
    """Input problems are listed (escaped) so skipped students are not silently missing."""
    _, text = hostile
    doc = parse(text)
    problems = section(doc, "problems").text()
    assert '"<img src=x onerror=alert(1)>"' in problems
    assert not doc.find_all("img")
    preview = parse(report(sample(), preview=True)).find("p", cls="note").text()
    assert preview.startswith("Preview: no sync has run yet")


def test_contact_requirement_met_names_the_contacts(tmp_path: Path) -> None:
    """A met requirement names the two contacts that met it."""
    district = load_district(load_config(ROOT / "config" / "iepsched.toml"))
    with StateStore(tmp_path / "state.sqlite") as store:
        for day, method in ((20, "phone"), (25, "email")):
            store.log_contact(
                Contact(
                    "S1001",
                    dt.datetime(2026, 11, day, 10, tzinfo=CHICAGO),
                    method,
                    "Renata",
                    "reached",
                )
            )
        plan = plan_with_state(district, today=TODAY, store=store)
        contacts = {"S1001": store.contacts("S1001")}
    article = parse(report(plan, contacts_by_student=contacts)).find("article", id="s-S1001")
    verdict = article.find("p", cls="contacts")
    assert "met" in verdict.attrs["class"].split()
    assert "Parent contacts: met by 2026-11-20 phone (reached) and 2026-11-25 email (reached)" in (
        verdict.text()
    )


def test_overdue_contacts_flagged() -> None:
    """A student past the contact deadline without two contacts is flagged NOT met."""
    article = sample_doc().find("article", id="s-S1036")
    verdict = article.find("p", cls="contacts")
    assert "unmet" in verdict.attrs["class"].split()
    assert "NOT met" in verdict.text()


def test_empty_district_report() -> None:
    """A district with nobody to plan still renders, saying so."""
    doc = parse(report(DistrictPlan(TODAY, ())))
    assert "Every student is on track." in section(doc, "attention").text()
    assert "No meetings are placed." in section(doc, "calendar").text()


def test_report_is_deterministic_and_wraps_the_student_loop() -> None:
    """Same inputs, same bytes; the progress hook sees every student once."""
    seen: list[str] = []

    def each(plans: tuple[StudentPlan, ...]) -> Iterator[StudentPlan]:
        for p in plans:
            seen.append(p.student_id)
            yield p

    wrap: Callable[..., Iterator[StudentPlan]] = each
    assert report(sample(), each=wrap) == sample_html()
    assert Counter(seen) == Counter(p.student_id for p in sample().plans)


def compact(plan: DistrictPlan, **kw: object) -> str:
    return report(plan, inline_timelines=0, **kw)


def rebuilt_rows(text: str) -> dict[str, list[str]]:
    """Each student's timeline rows as the script builds them: row markup picked by index, one
    timeline per open cycle (SPEC §3.6), in the article's order."""
    doc = parse(text)
    listed = json.loads(doc.find("script", id="tl-rows").text())
    out = {}
    for article in doc.find_all("article", cls="student"):
        details = article.find_all("details", cls="tl")
        indexes = [i for d in details for i in d.attrs["data-r"].split()]
        out[article.attrs["id"]] = [listed[int(i, 36)] for i in indexes]
    return out


def test_compact_timelines_rebuild_exactly_the_inline_rows() -> None:
    """A large report's on-demand timelines hold, by index, exactly the rows the inline tables
    have, in order: nothing is lost by leaving the tables to the script."""
    inline = sample_html()
    text = compact(sample())
    tbodies = re.findall(r'<article[^>]* id="(s-\w+)".*?</article>', inline)
    assert len(tbodies) == 49
    rebuilt = rebuilt_rows(text)
    for match in re.finditer(r'<article[^>]* id="(s-\w+)"(.*?)</article>', inline):
        rows = re.findall(r"<tr class=\"ms-.*?</tr>", match[2])
        assert rebuilt[match[1]] == rows
    assert not parse(text).find_all("table", cls="timeline")
    assert len(text) < len(inline)


def test_compact_report_keeps_headings_filters_and_contacts() -> None:
    """A compact timeline still shows the heading, meta, warnings, action and contacts, and the
    filter attributes; the page still loads nothing from anywhere."""
    doc = parse(compact(sample()))
    articles = section(doc, "timelines").find_all("article", cls="student")
    assert len(articles) == 49
    article = doc.find("article", id="s-S1001")
    assert "Maya Thornbury" in article.find("h3").text()
    assert article.find("details", cls="tl").find("summary").text().startswith("Timeline: ")
    assert "not met yet" in article.find("p", cls="contacts").text()
    for url in _resource_urls(doc):
        assert url.startswith("#"), url
    scripts = doc.find_all("script")
    assert [s.attrs.get("type") for s in scripts] == ["application/json", None]


def test_compact_rows_cannot_close_their_script(tmp_path: Path) -> None:
    """Hostile values in the row list are escaped and written so no "</" ends the JSON script;
    names never enter the row list (only headings carry them)."""
    district = load_district(load_config(hostile_config(tmp_path)))
    plan = plan_with_state(district, today=TODAY)
    text = compact(plan)
    doc = parse(text)
    body = doc.find("script", id="tl-rows").text()
    assert "</" not in body
    listed = json.loads(body)
    for _, first, last, _ in HOSTILE:
        assert all(last not in row and first not in row for row in listed)
        assert doc.text().count(last) == 1


class Sink:
    """A text sink that remembers how large its largest single write was."""

    def __init__(self) -> None:
        self.total = 0
        self.largest = 0

    def write(self, text: str) -> int:
        self.total += len(text)
        self.largest = max(self.largest, len(text))
        return len(text)


def many(copies: int) -> DistrictPlan:
    """The sample's plans copied `copies` times under fresh ids (a larger district)."""
    plans = [
        dataclasses.replace(
            p, student=dataclasses.replace(p.student, student_id=f"{p.student_id}-{n}")
        )
        for n in range(copies)
        for p in sample().plans
    ]
    return DistrictPlan(TODAY, tuple(plans))


def test_report_is_written_in_pieces_that_do_not_grow_with_the_district() -> None:
    """The page goes to its file piece by piece: with 20 times the students, the largest single
    write stays about the same, so memory does not grow with the district."""
    small, large = Sink(), Sink()
    for sink, plan in ((small, many(2)), (large, many(40))):
        write_html_report(
            sink,
            plan,
            district_name="Prairie Valley",
            today=TODAY,
            contacts_by_student={},
            generated_at=GENERATED,
            inline_timelines=0,
        )
    assert large.total > 8 * small.total
    assert large.largest < 200_000  # the distinct-row list, shared by every student
    assert large.largest < 3 * small.largest


def test_skipped_rows_lead_the_report() -> None:
    """Skipped roster rows are the first section of the page, named by line and id."""
    rows = (SkippedRow(50, "S9001"), SkippedRow(51, None))
    doc = parse(report(sample(), skipped=rows, problems=["roster.csv line 50: bad"]))
    main = doc.find("body")
    first = next(n for n in main.walk() if n.tag == "section")
    assert first.attrs["id"] == "problems"
    text = first.text()
    assert (
        "2 roster rows were skipped (lines 50, 51; student id 'S9001'; 1 with no readable id)"
        in (text)
    )
    assert "roster.csv line 50: bad" in text
    assert doc.find("nav").find_all("a")[0].attrs["href"] == "#problems"
