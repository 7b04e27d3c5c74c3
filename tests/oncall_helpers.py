"""Plain helpers for the on-call tests: a document with two schedules and a policy."""

from __future__ import annotations

from warroom.comms import catalog
from warroom.core.db import Database
from warroom.oncall import documents


def document(l1_contact: str, l2_contact: str, *, timeout: str = "10m") -> str:
    """ana is on call for L1 and bob for L2 (from 2026-11-01, the test clock is later); the
    `payments` policy pages L1, then L2; checkout pages it at P0 and P1."""
    return f"""
people:
  - name: ana
    timezone: Europe/Lisbon
    contacts: ["{l1_contact}"]
  - name: bob
    timezone: America/New_York
    contacts:
      - {{url: "{l2_contact}", urgency: [high, low]}}
  - name: carl
    timezone: UTC
schedules:
  - name: l1
    timezone: Europe/Lisbon
    layers:
      - {{name: weekly, rotation: weekly, handoff: "2026-11-02T09:00", members: [ana]}}
  - name: l2
    timezone: America/New_York
    layers:
      - {{name: daily, rotation: daily, handoff: "2026-11-01T09:00", members: [bob]}}
policies:
  - name: payments
    levels:
      - {{schedule: l1, timeout: {timeout}}}
      - {{schedule: l2, timeout: {timeout}}}
paging:
  - {{service: checkout, severities: [P0, P1], policy: payments}}
"""


def set_up(db: Database, l1_contact: str, l2_contact: str, *, timeout: str = "10m") -> None:
    catalog.add_service(db, name="checkout", owner="payments", tier=1)
    documents.import_text(db, document(l1_contact, l2_contact, timeout=timeout), actor="lead")
