"""Security incidents: sealed evidence with a chain of custody, bundles, regulatory clocks.

Privacy (who may see a private incident) and incident types live in `warroom.incidents`
(`privacy`, `incident_types`), since every read passes there; see docs/security-incidents.md.
"""
