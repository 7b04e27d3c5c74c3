"""Recover the product's data: PostgreSQL point-in-time recovery done beside the live server.

    report = readiness.check(cfg)                          # can it be recovered? findings
    side = side.restore(cfg, until=when)                   # a copy recovered to `until`
    damage = diff.diff(cfg.live_dsn(), side, ["accounts"]) # rows changed since
    text = repair.script(repair.select(damage, include={"deleted", "updated"}), author="ana")
    apply.run_script(cfg.live_dsn(), text, commit=False)   # dry run; commit=True applies
    sidestate.cleanup(cfg)                                 # stop and remove the copy

`verbs` does each of these on an incident and records it on its timeline; the repair is
applied only after a passing dry run of the same script on that incident. PostgreSQL does
the work (pg_basebackup's backups, pg_ctl, recovery_target_time, restore_command,
pg_verifybackup); warroom chooses the backup, configures the copy, watches it, compares
rows and writes SQL for a person to review. Modules: config (the [data] table), pg
(programs and connections), wal (archive and backups on disk), readiness, side and
sidestate (the side server), catalog (a table's key and columns), diff, repair, apply,
render (text), verbs.
"""
