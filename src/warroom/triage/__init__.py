"""Triage from raw artifacts: access logs, app logs and changes in, a `TriageReport` out.

Pure analytics: no database, no terminal (the shell passes a `reader.ReadProgress` to see
reading progress, and renders). It imports `warroom.core` only (import-linter checks it).
The public entry points:

* `warroom.triage.parse.read_access_logs(paths, ...) -> AccessLog` (rows as a polars frame)
* `warroom.triage.routes.normalise_route(path)` and `normalise_route_expr(expr)`
* `warroom.triage.report.triage(access_logs, ...) -> TriageReport`
* `warroom.triage.signatures.mine_templates(paths, ...)` (app-log templates)
* `warroom.triage.scenarios.generate(name, out_dir, seed=...) -> ScenarioTruth`

Modules: reader/parse/lineparse/native (reading), sli (aggregates, series, percentiles),
onset (change points), impact (signals, routes by impact), signatures (app logs), changes
(suspects), advice (severity, containment), model (`TriageReport`), report (the pipeline),
render (markdown, sparklines), chart (png/svg).
"""
