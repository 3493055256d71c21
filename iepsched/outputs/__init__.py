"""Outputs for people: ICS calendars, the HTML report, CSVs and terminal tables."""
