"""The pure core: calendar arithmetic, rules, planning, reconcile decisions, desired items.

No I/O, no clock, no adapter library: everything here takes `today` and returns values.
"""
