"""warroom code that vulture (`make lint`) cannot see being used: framework entry points only.

Each line uses a name the way its framework does. Importing this module (a test does) fails
when a name here no longer exists, so the list cannot go stale silently. Names that belong to
other libraries' protocols (pydantic fields named by Alertmanager, http.server hooks) are in
`[tool.vulture] ignore_names` in pyproject.toml. Do not add code that is merely unused:
delete it instead.
"""

from warroom.comms import heartbeat, updates
from warroom.comms import worker as comms_worker
from warroom.core import db
from warroom.detect.slo import rules
from warroom.incidents import lifecycle
from warroom.learn import actions, postmortems, recurrence
from warroom.oncall import paging, schedules, tell
from warroom.web import app as web_app
from warroom.web.pages import comms as comms_pages
from warroom.web.pages import contain as contain_pages
from warroom.web.pages import learn as learn_pages
from warroom.web.pages import oncall as oncall_pages
from warroom.web.pages import recover as recover_pages
from warroom.web.pages import security as security_pages

# Registry references ("module:attribute" strings in each area's area.py).
comms_pages.comms_panel
contain_pages.contain_panel
learn_pages.learn_panel
recover_pages.recover_panel
security_pages.security_panel
security_pages.access_panel
heartbeat.desk_columns
postmortems.desk_columns
comms_worker.tick
actions.close_gate
recurrence.on_declared
recurrence.on_attached
oncall_pages.oncall_panel
paging.page_on_declare
paging.page_on_event
tell.on_event
schedules.desk_notices

# "module:attribute" strings uvicorn imports (`warroom serve --workers N`).
web_app.from_environment

# SQLAlchemy: a TypeDecorator's hooks.
db.UTCDateTime.cache_ok
db.UTCDateTime.process_bind_param
db.UTCDateTime.process_result_value

# Enum members looked up by value (Role("scribe"), ActionType("preventive"), ...).
lifecycle.Role.OPS_LEAD
lifecycle.Role.COMMS_LEAD
lifecycle.Role.SCRIBE
lifecycle.Role.LIAISON
actions.ActionType.DETECTIVE
actions.ActionType.PREVENTIVE
actions.ActionType.CORRECTIVE
actions.ActionType.MITIGATION
updates.Audience.INTERNAL

# PyYAML: a Dumper hook.
rules._Dumper.ignore_aliases
