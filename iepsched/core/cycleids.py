"""The cycle ids a plan's items are keyed with (SPEC §5), apart from the item builders so that the
views (`plan --all`, the report) can name a cycle without importing the delivery side. Pure."""

from __future__ import annotations

from .model import StudentPlan


def cycle_ids(plan: StudentPlan) -> tuple[str, str]:
    """The annual and reevaluation cycle ids this plan's items are keyed with.

    A plan made without state has none yet; sync then opens cycles named after the due dates
    (reconcile.assign_cycles), which is what a preview must use to keep keys and UIDs stable.
    """
    annual = plan.cycle_id or plan.due_date.isoformat()
    reeval_due = plan.student.reeval_due_date
    reeval = plan.reeval_cycle_id or (f"R{reeval_due.isoformat()}" if reeval_due else "")
    return annual, reeval
