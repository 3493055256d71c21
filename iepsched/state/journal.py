"""The legal logs' journal: an append-only file beside the state that outlives it.

The parent-contact, delay and meeting-request logs are records a district must produce in a
complaint. SQLite holds them for queries; this journal holds them so that losing, truncating or
damaging the state file loses none of them. Each entry is written and fsynced here *before* the
state's transaction, so every entry the state has, the journal has too; `missing_from` tells
what the state must take back.

One JSON object a line. Each line carries the SHA-256 of the line before it (`prev`), so an
edited, removed or reordered line is found and named by its line number; a last line cut short
by a crash is reported and skipped, never fatal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from ..core.errors import Problem
from ..core.model import Contact, Delay, MeetingRequest

LogName = Literal["contact", "delay", "meeting_request"]
LOG_NAMES: tuple[LogName, ...] = get_args(LogName)
VERSION = 1


def journal_path(state_path: Path) -> Path:
    """The journal beside a state file: iepsched.sqlite -> iepsched.legal-log.jsonl."""
    return state_path.with_name(state_path.stem + ".legal-log.jsonl")


@dataclass(frozen=True, slots=True)
class Entry:
    """One legal-log entry: which log, its fields (strings), and its content id."""

    log: LogName
    fields: Mapping[str, str]
    line: int = 0  # where it stands in the journal (0 before it is written)

    @property
    def entry_id(self) -> str:
        """A content id: the same entry logged twice (a read-back retried) has the same id."""
        canonical = json.dumps([self.log, dict(sorted(self.fields.items()))], ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def contact_entry(
    contact: Contact, *, source_ref: str | None = None, logged_at: str | None = None
) -> Entry:
    """A contact as a journal entry (every field, the note included: it is the legal record).

    `logged_at` (when the state row was written) is part of the entry, so the same call logged
    twice on purpose (two unanswered calls in one minute) stays two entries; a read-back is kept
    once by its `source_ref` instead.
    """
    fields = {
        "student_id": contact.student_id,
        "at": contact.at.isoformat(),
        "method": contact.method,
        "with_whom": contact.with_whom,
        "outcome": contact.outcome,
        "note": contact.note,
        "source": contact.source,
    }
    if source_ref:
        fields["source_ref"] = source_ref
    if logged_at:
        fields["logged_at"] = logged_at
    return Entry("contact", fields)


def contact_of(entry: Entry) -> Contact:
    """The Contact an entry records (raises KeyError/ValueError on a malformed entry)."""
    f = entry.fields
    return Contact(
        student_id=f["student_id"],
        at=dt.datetime.fromisoformat(f["at"]),
        method=f["method"],
        with_whom=f["with_whom"],
        outcome=f["outcome"],
        note=f.get("note", ""),
        source=f.get("source", "cli"),
    )


def delay_entry(delay: Delay, *, logged_at: str) -> Entry:
    """A delay as a journal entry; `logged_at` keeps two identical entries two (as contacts)."""
    fields = {
        "student_id": delay.student_id,
        "logged_on": delay.logged_on.isoformat(),
        "reason": delay.reason,
        "logged_at": logged_at,
    }
    if delay.meeting_date is not None:
        fields["meeting_date"] = delay.meeting_date.isoformat()
    return Entry("delay", fields)


def delay_of(entry: Entry) -> Delay:
    """The Delay an entry records, carrying its entry id (KeyError/ValueError if malformed)."""
    f = entry.fields
    meeting = f.get("meeting_date")
    return Delay(
        student_id=_required(f, "student_id"),
        logged_on=dt.date.fromisoformat(f["logged_on"]),
        reason=_required(f, "reason"),
        meeting_date=dt.date.fromisoformat(meeting) if meeting else None,
        entry_id=entry.entry_id,
    )


def request_entry(request: MeetingRequest, *, logged_at: str) -> Entry:
    """A meeting request as a journal entry (every field: it is the legal record)."""
    fields = {
        "student_id": request.student_id,
        "type": request.type,
        "requested_on": request.requested_on.isoformat(),
        "reason": request.reason,
        "notice_waived": _flag(request.notice_waived),
        "without_meeting": _flag(request.without_meeting),
        "logged_at": logged_at,
    }
    if request.by is not None:
        fields["by"] = request.by.isoformat()
    if request.requested_by:
        fields["requested_by"] = request.requested_by
    return Entry("meeting_request", fields)


def request_of(entry: Entry) -> MeetingRequest:
    """The MeetingRequest an entry records, with its entry id (KeyError/ValueError if
    malformed)."""
    f = entry.fields
    by = f.get("by")
    return MeetingRequest(
        student_id=_required(f, "student_id"),
        type=_required(f, "type"),
        requested_on=dt.date.fromisoformat(f["requested_on"]),
        reason=_required(f, "reason"),
        by=dt.date.fromisoformat(by) if by else None,
        notice_waived=_is_set(f.get("notice_waived", "false")),
        without_meeting=_is_set(f.get("without_meeting", "false")),
        requested_by=f.get("requested_by") or None,
        entry_id=entry.entry_id,
    )


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields[name]
    if not value:
        raise ValueError(f"{name} is empty")
    return value


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _is_set(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(f"{value!r} is neither true nor false")
    return value == "true"


class Journal:
    """Append and read the journal at `path` (created 0600 on first append)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entry: Entry, *, logged_at: dt.datetime) -> Entry:
        """Write one entry durably (fsync) and return it with its line number.

        An exclusive lock on the journal spans reading the last line and writing the new one, so
        two processes logging at once (a `contact log` during a sync) keep the chain intact.
        """
        import fcntl

        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            line = self._append_locked(fd, entry, logged_at)
        finally:
            os.close(fd)  # closing releases the lock
        if created:
            _fsync_dir(self.path.parent)
        return Entry(entry.log, entry.fields, line=line)

    def _append_locked(self, fd: int, entry: Entry, logged_at: dt.datetime) -> int:
        lines = self._raw_lines()
        prev = _digest(lines[-1]) if lines else ""
        record = {
            "v": VERSION,
            "log": entry.log,
            "logged_at": logged_at.isoformat(),
            "fields": dict(entry.fields),
            "prev": prev,
        }
        text = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        if lines and not self._ends_with_newline():
            text = "\n" + text  # a crash cut the last line short: start on a fresh line
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
        return len(lines) + 1

    def read(self) -> tuple[list[Entry], list[Problem]]:
        """Every readable entry in order, and a problem for each line that is not intact."""
        entries: list[Entry] = []
        problems: list[Problem] = []
        prev_line: bytes | None = None
        for number, raw in enumerate(self._raw_lines(), start=1):
            where = f"{self.path} line {number}"
            try:
                record = json.loads(raw)
                log = record["log"]
                fields = record["fields"]
                if log not in LOG_NAMES or not isinstance(fields, dict):
                    raise ValueError(f"unknown log {log!r}")
                clean = {str(k): str(v) for k, v in fields.items()}
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(Problem(where, f"unreadable entry skipped ({exc})", "warning"))
                prev_line = raw
                continue
            expected = _digest(prev_line) if prev_line is not None else ""
            if record.get("prev") != expected:
                problems.append(
                    Problem(
                        where,
                        "the entry before this one was changed or removed (its checksum does "
                        "not match): keep this file as it is and tell your IT staff",
                        "warning",
                    )
                )
            entries.append(Entry(log, clean, line=number))
            prev_line = raw
        return entries, problems

    def _raw_lines(self) -> list[bytes]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [line for line in data.split(b"\n") if line.strip()]

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return True
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"


def missing_from(entries: Iterable[Entry], known_ids: set[str]) -> list[Entry]:
    """Entries whose content id the state does not hold, in journal order, each once."""
    seen = set(known_ids)
    out = []
    for entry in entries:
        if entry.entry_id not in seen:
            seen.add(entry.entry_id)
            out.append(entry)
    return out


def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
