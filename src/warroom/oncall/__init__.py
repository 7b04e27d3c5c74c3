"""On call: who is reachable, when, and how; paging them when an incident needs them.

people      people and their contact methods (apprise URLs), working hours, time zone
rotation    rotations in wall-clock time, layers, overrides: who is on call (pure)
schedules   schedules and overrides in the database, who is on call now, gaps
policies    escalation policies and the routes from catalog services to them
documents   the YAML document teams keep in git (import, export)
paging      triggers and the worker job that pages and escalates
acks        acknowledgement (CLI, desk, API, the page's signed one-time link)
tell        telling a new commander, an assignee, an action item's owner
feeds       iCalendar feeds per schedule and per person
links       the signatures of acknowledgement links and calendar feeds
"""
