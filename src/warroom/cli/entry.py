"""The `warroom` command: `warroom triage`, `logs` and `slo` start without loading the rest.

Triage runs during an outage on big files, often on a machine where nothing else of warroom
is needed; importing the whole CLI (SQLAlchemy, the web stack, every area) would cost it most
of a second. Every other command goes through `warroom.cli`.
"""

from __future__ import annotations

import sys

LIGHT_COMMANDS = frozenset({"triage", "logs"})


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in LIGHT_COMMANDS:
        # lazy: the point of this module; triage must not pay for the full CLI's imports
        from warroom.cli.triage import main as light_main

        light_main()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "slo":
        # lazy: `slo check` reads big logs like triage, without the database or web stack
        from warroom.cli.slo import main as slo_main

        slo_main()
        return
    from warroom.cli.main import main as full_main  # lazy: see above

    full_main()
