"""The areas of this build, in order: the one list the CLI, the web app and the worker use.

This order is the order of the CLI's help, of the incident page's panels and of the routes
(after each area's `route_order`: alert intake, the busiest path, is matched first).
Adding an area: write its `area.py` (see `warroom.core.registry`) and add it here.
"""

from warroom.access.area import AREA as access
from warroom.comms.area import AREA as comms
from warroom.contain.area import AREA as contain
from warroom.core.registry import Registry
from warroom.detect.area import AREA as detect
from warroom.incidents.area import AREA as incidents
from warroom.learn.area import AREA as learn
from warroom.oncall.area import AREA as oncall
from warroom.recover.area import AREA as recover
from warroom.security.area import AREA as security
from warroom.triage.area import AREA as triage
from warroom.trust.area import AREA as trust

# oncall before comms: the worker runs its jobs in this order, so a page queued by the pager
# is delivered by the comms job in the same tick.
REGISTRY = Registry(
    (incidents, triage, detect, oncall, comms, contain, learn, trust, access, recover, security)
)
