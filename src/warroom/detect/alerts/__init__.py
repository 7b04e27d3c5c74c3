"""Alert intake: Alertmanager webhooks (version 4) and generic JSON monitors open incidents.

    from warroom.detect import alerts
    result = alerts.receive_alertmanager(db, payload, routing=alerts.Routing.from_settings(s))
    result.outcome, result.incident       # "opened", "INC-4"

The parts: `payloads` (parsing and validation), `routing` (labels to service and severity),
`intake` (open or attach, record alert changes, once), `dedup` (deliveries already taken),
`reading` (alerts of an incident, deliveries by outcome).
"""

from warroom.detect.alerts.dedup import IntakeResult, body_key, remember_as, remembered
from warroom.detect.alerts.intake import (
    DEFAULT_ACTOR,
    KIND_FIRING,
    KIND_RESOLVED,
    VERIFY_PROMPT,
    receive_alertmanager,
    receive_generic,
)
from warroom.detect.alerts.payloads import (
    FIRING,
    RESOLVED,
    AlertIn,
    FieldMapping,
    Notification,
    parse_alertmanager,
    parse_generic,
    payload_hash,
)
from warroom.detect.alerts.reading import delivery_counts, list_alerts
from warroom.detect.alerts.routing import Route, Routing

__all__ = [
    "DEFAULT_ACTOR",
    "FIRING",
    "KIND_FIRING",
    "KIND_RESOLVED",
    "RESOLVED",
    "VERIFY_PROMPT",
    "AlertIn",
    "FieldMapping",
    "IntakeResult",
    "Notification",
    "Route",
    "Routing",
    "body_key",
    "delivery_counts",
    "list_alerts",
    "parse_alertmanager",
    "parse_generic",
    "payload_hash",
    "receive_alertmanager",
    "receive_generic",
    "remember_as",
    "remembered",
]
