import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from warroom.core.errors import InvalidInput
from warroom.triage.changes import Change, git_changes, load_changes, rank_suspects

ONSET = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_suspects_rank_by_time_overlap_and_kind():
    changes = [
        Change("near-match", ONSET - timedelta(minutes=5), "deploy", "checkout", ("/checkout",)),
        Change("near-other", ONSET - timedelta(minutes=5), "deploy", "search", ("/search",)),
        Change("old", ONSET - timedelta(hours=5), "deploy", "checkout", ("/checkout",)),
        Change("after", ONSET + timedelta(minutes=30), "flag", "checkout", ("/checkout",)),
    ]
    got = rank_suspects(changes, onset=ONSET, affected_routes=["/checkout"])
    assert [s.change.id for s in got] == ["near-match", "near-other"]
    assert got[0].score > 2 * got[1].score
    assert "5 min before the onset" in got[0].reason


def test_no_suspect_when_nothing_is_in_the_plausible_window():
    changes = [Change("old", ONSET - timedelta(hours=4), "deploy", "search", ("/search",))]
    assert rank_suspects(changes, onset=ONSET, affected_routes=["/search"]) == []


def test_bad_change_line_names_its_number(tmp_path):
    p = tmp_path / "c.jsonl"
    good = {"id": "D-1", "at": "2026-11-20T13:55:00Z", "kind": "deploy"}
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "kind": "rollout"}) + "\n")
    with pytest.raises(InvalidInput, match=r"c.jsonl:2: unknown kind 'rollout'"):
        load_changes(p)


def test_git_commits_in_the_window_become_deploy_candidates(tmp_path):
    repo = tmp_path / "shop"
    repo.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@x",
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    (repo / "checkout").mkdir()
    (repo / "checkout" / "coupons.py").write_text("x = 1\n")
    when = (ONSET - timedelta(minutes=3)).isoformat()
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-qm", "coupon rules"],
        check=True,
        env={**env, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when},
    )
    found = git_changes(repo, ONSET - timedelta(hours=1), ONSET)
    assert len(found) == 1 and found[0].kind == "deploy"
    assert found[0].paths == ("checkout/coupons.py",)
    ranked = rank_suspects(found, onset=ONSET, affected_routes=["/checkout"])
    assert ranked and ranked[0].score > 0.8
