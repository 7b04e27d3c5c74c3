"""What `warroom init` writes: a sample warroom.toml with demo levers, and their flag file.

The levers are real (the flag lever changes flags.json, the command lever records the release
in deployed.txt): the README's tour pulls `checkout-v2-off` and undoes it. Replace them with
your own (docs/contain.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from warroom.core.config import CONFIG_NAME
from warroom.core.errors import InvalidInput

FLAG_FILE = "flags.json"

SAMPLE_CONFIG = """\
# warroom.toml, written by `warroom init`. Every warroom command run in this directory or
# below finds this file (as git finds .git); `warroom db status` says which database and why.
# Relative paths are relative to this file. The settings: docs/configuration.md.

[database]
# This directory's own database. Remove the table to use the per-user database instead
# (the one `make run` serves from a checkout), or name PostgreSQL:
# url = "postgresql+psycopg://warroom@db.internal/warroom"
url = "sqlite:///warroom.db"

[contain]
flag_file = "flags.json"          # the OpenFeature flagd file the application reads

# Levers: typed, recorded, reversible actions (docs/contain.md). These two are demos.
[levers.checkout-v2-off]
kind = "flag"
description = "Serve the old checkout (the new-checkout flag off)"
flag = "new-checkout"
variant = "off"
suggest_on = ["checkout", "deploy"]

[levers.rollback]
kind = "command"
description = "Roll back the checkout release (demo: writes the version to deployed.txt)"
params = { version = { required = true, help = "release to deploy, e.g. v2.13.4" } }
state = "cat deployed.txt"
suggest_on = ["deploy"]
suspect_param = "version"
shell = true                      # {version} and {before} are quoted for /bin/sh
run = "echo {version} > deployed.txt"
undo = "echo {before} > deployed.txt"

# An HTTP lever, for an admin API:
# [levers.inventory-limit]
# kind = "http"
# params = { rps = "50" }
# request = { method = "PUT", url = "http://admin:9000/limits/inventory", body = { rps = "{rps}" } }
# undo = { method = "DELETE", url = "http://admin:9000/limits/inventory" }

# Postmortems due 48 h after closing a P0/P1 (docs/learn.md):
# [postmortems]
# due_hours = 48
"""

SAMPLE_FLAGS = {
    "flags": {
        "new-checkout": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "on",
        }
    }
}


def write_sample(directory: Path, *, force: bool = False) -> list[Path]:
    """Write warroom.toml, flags.json and deployed.txt into `directory`; refuse to overwrite
    an existing warroom.toml unless `force`. Returns the files written."""
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory", field="directory")
    config = directory / CONFIG_NAME
    if config.exists() and not force:
        raise InvalidInput(
            f"{config} exists already: edit it, or give --force to replace it with the sample",
            field="directory",
        )
    config.write_text(SAMPLE_CONFIG, encoding="utf-8")
    written = [config]
    flags = directory / FLAG_FILE
    if force or not flags.exists():
        flags.write_text(json.dumps(SAMPLE_FLAGS, indent=2) + "\n", encoding="utf-8")
        written.append(flags)
    deployed = directory / "deployed.txt"
    if not deployed.exists():
        deployed.write_text("v2.14.0\n", encoding="utf-8")
        written.append(deployed)
    return written
