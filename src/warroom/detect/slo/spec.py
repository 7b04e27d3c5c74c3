"""SLO files: the compact native form and the OpenSLO v1 subset, parsed into one `SLO` type.

    slos = load_slo_file("slos.yaml")          # native or OpenSLO, detected
    slos[0].objective, slos[0].window           # 0.999, timedelta(days=28)

The native form is described in `warroom.detect.slo.native`; OpenSLO v1 (one or more
documents, or a YAML list of objects; a folder of such files is read as one set) in
`warroom.detect.slo.openslo`, with what is read, approximated and refused. The type itself
is `warroom.detect.slo.model.SLO`. Every error names the file, the SLO and the field.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from warroom.core.errors import InvalidInput
from warroom.detect.slo.documents import read_text, yaml_documents
from warroom.detect.slo.model import SLO, BurnAlert, PromSettings
from warroom.detect.slo.native import parse_burn_alerts, parse_native
from warroom.detect.slo.openslo import parse_openslo, read_openslo


def parse_slos(text: str, *, source: str = "<slos>") -> list[SLO]:
    """Parse native or OpenSLO YAML text into SLOs (errors name source, SLO and field)."""
    docs = yaml_documents(text, source=source)
    if not docs:
        raise InvalidInput(f"{source}: the file is empty: define at least one SLO", field="file")
    if any("apiVersion" in d for d in docs):
        return parse_openslo(docs, source)
    if len(docs) > 1:
        raise InvalidInput(f"{source}: the native form is one YAML document", field="file")
    return parse_native(docs[0], source)


def load_slo_file(path: str | Path) -> list[SLO]:
    """Read one SLO file (native or OpenSLO), or a folder of them.

    The OpenSLO documents of a folder's *.yaml / *.yml files are read as one set, so an
    `indicatorRef` or `metricSourceRef` may name an object in another file of the folder.
    """
    p = Path(path)
    if not p.is_dir():
        return parse_slos(read_text(p), source=str(p))
    files = sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file())
    if not files:
        raise InvalidInput(f"SLO folder {p} has no .yaml or .yml file", field="slo")
    out: list[SLO] = []
    openslo: list[tuple[str, dict[str, Any]]] = []
    for f in files:
        docs = yaml_documents(read_text(f), source=str(f))
        if any("apiVersion" in d for d in docs):
            openslo.extend((str(f), d) for d in docs)
        elif docs:
            out.extend(parse_slos(read_text(f), source=str(f)))
    if openslo:
        out.extend(read_openslo(openslo).slos)
    if not out:
        raise InvalidInput(f"{p}: no `kind: SLO` document found", field="kind")
    names = [s.name for s in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InvalidInput(f"{p}: SLO {dup!r} is defined twice", field="metadata.name")
    return out


def alerts_from_config(
    value: Any, *, source: str = "warroom.toml [detect]"
) -> tuple[BurnAlert, ...] | None:
    """`[[detect.slo_alerts]]` tables of warroom.toml as burn alerts (None when absent)."""
    if not value:
        return None
    return parse_burn_alerts(value, where=source)


def override_prometheus(
    slos: list[SLO],
    *,
    requests_metric: str | None = None,
    code_label: str | None = None,
    latency_metric: str | None = None,
    labels: dict[str, str] | None = None,
) -> list[SLO]:
    """The SLOs with metric and label names replaced where given (command-line flags)."""
    name_re = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    for what, value in (
        ("requests metric", requests_metric),
        ("code label", code_label),
        ("latency metric", latency_metric),
        *((f"label for {k}", v) for k, v in (labels or {}).items()),
    ):
        if value is not None and not name_re.match(value):
            raise InvalidInput(f"{what} {value!r} is not a Prometheus name", field=what)
    out = []
    for s in slos:
        p = s.prometheus
        out.append(
            replace(
                s,
                prometheus=PromSettings(
                    requests_metric=requests_metric or p.requests_metric,
                    code_label=code_label or p.code_label,
                    latency_metric=latency_metric or p.latency_metric,
                    labels={**p.labels, **(labels or {})},
                ),
            )
        )
    return out
