"""App-log understanding: headers of every common style, masks, folded stack traces and
grouping accuracy on the labelled corpus (against drain3 with its defaults)."""

import json
from datetime import UTC, datetime

import pytest
import typer
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
from typer.testing import CliRunner

from warroom.cli.triage import register
from warroom.core.errors import InvalidInput
from warroom.triage.applog import AppLogMiner
from warroom.triage.applog.corpus import SYSTEMS, grouping_accuracy, labelled_corpus
from warroom.triage.applog.headers import HeaderReader
from warroom.triage.applog.mask import Masker
from warroom.triage.signatures import mine_templates

T = datetime(2026, 11, 20, 13, 4, 5, tzinfo=UTC)
MS = T.replace(microsecond=123000)
# style -> (line, its time, the message left to template)
HEADERS = {
    "syslog rfc3164": ("Nov 20 13:04:05 web1 sshd[4242]: Accepted key for bob", T,
                       "Accepted key for bob"),
    "syslog rfc5424": ("<165>1 2026-11-20T13:04:05.123Z web1 shop 42 ID47 - order accepted",
                       MS, "order accepted"),
    "syslog rfc5424 with data": (
        '<34>1 2026-11-20T13:04:05Z web1 su - ID47 [origin ip="10.0.0.1"] su failed', T,
        "su failed"),
    "apache error 2.2": ("[Fri Nov 20 13:04:05 2026] [error] [client 10.0.0.1] File does not "
                         "exist: /var/www/x", T, "File does not exist: /var/www/x"),
    "apache error 2.4": ("[Fri Nov 20 13:04:05.123000 2026] [core:error] [pid 35708:tid 43] "
                         "AH00037: Symbolic link not allowed", MS,
                         "Symbolic link not allowed"),
    "nginx error": ("2026/11/20 13:04:05 [error] 31#31: *7 upstream timed out", T,
                    "31#31: *7 upstream timed out"),
    "log4j": ("2026-11-20 13:04:05,123 ERROR [main] com.shop.OrderService: order 7 failed", MS,
              "order 7 failed"),
    "logback default": ("13:04:05.123 [http-nio-1] INFO  c.s.CartController - cart saved", None,
                        "cart saved"),
    "python logging": ("2026-11-20 13:04:05,123 - payments.api - ERROR - charge failed", MS,
                       "charge failed"),
    "python basic": ("ERROR:payments.api:charge failed", None, "charge failed"),
    "go log": ("2026/11/20 13:04:05 http: TLS handshake error from 10.0.0.1:5000: EOF", T,
               "http: TLS handshake error from 10.0.0.1:5000: EOF"),
    "go klog": ("E1120 13:04:05.123000    4242 controller.go:114] sync failed", MS,
                "sync failed"),
    "java util logging": ("Nov 20, 2026 1:04:05 PM org.shop.Server handle", T,
                          "org.shop.Server handle"),
    "java util logging message": ("SEVERE: request failed", None, "request failed"),
    "iso 8601 Z": ("2026-11-20T13:04:05.123Z WARN disk almost full", MS, "disk almost full"),
    "iso 8601 offset": ("2026-11-20T14:04:05+01:00 INFO started", T, "started"),
    "iso 8601 bracketed": ("[2026-11-20 13:04:05] worker ready", T, "worker ready"),
    "epoch": (f"{int(T.timestamp())}.123 worker 3 started", MS, "worker 3 started"),
    "bracketed day name": ("[Fri Nov 20 13:04:05 2026] [notice] workerEnv.init() ok", T,
                           "workerEnv.init() ok"),
    "hdfs yymmdd hhmmss": ("261120 130405 148 INFO dfs.DataNode$PacketResponder: PacketResponder "
                           "1 terminating", T, "PacketResponder 1 terminating"),
    "spark yy/mm/dd": ("26/11/20 13:04:05 INFO storage.BlockManager: Removing RDD 4", T,
                       "Removing RDD 4"),
    "android logcat": ("11-20 13:04:05.123  1702  2395 D WindowManager: wake lock held", MS,
                       "wake lock held"),
    "clf time": ("[20/Nov/2026:13:04:05 +0000] GET done", T, "GET done"),
    "epoch date syslog": ("- 1795179845 2026.11.20 dn228 Nov 20 13:04:05 dn228/dn228 "
                          "crond(pam_unix)[2915]: session closed for user root", T,
                          "session closed for user root"),
    "epoch date ras": ("- 1795179845 2026.11.20 R02-M1-N0-C:J12-U11 2026-11-20-13.04.05.675872 "
                       "R02-M1-N0-C:J12-U11 RAS KERNEL INFO cache parity error corrected", T,
                       "cache parity error corrected"),
    "id node state epoch": ("134681 node-246 unix.hw state_change.unavailable 1795179845 1 "
                            "Component State Change", T, "Component State Change"),
}  # fmt: skip


@pytest.mark.parametrize("style", HEADERS)
def test_header_styles_give_the_time_and_the_message(style):
    line, ts, message = HEADERS[style]
    got_ts, got_message, headed = HeaderReader(year=2026).split(line)
    assert headed
    assert got_ts == ts
    assert got_message == message


def test_a_line_without_a_header_is_all_message():
    assert HeaderReader(year=2026).split("just words") == (None, "just words", False)


@pytest.mark.parametrize("style", HEADERS)
def test_first_and_last_times_come_from_every_header_style(style, tmp_path):
    line, ts, _ = HEADERS[style]
    p = tmp_path / "app.log"
    p.write_text(line + "\n" + line + "\n")
    mined = mine_templates([p], year=2026)
    assert [t.count for t in mined.templates] == [2]
    assert mined.templates[0].first == ts and mined.templates[0].last == ts


@pytest.mark.parametrize(
    ("token", "masked"),
    [
        ("1234", "<*>"),
        ("0x7f3a", "<*>"),
        ("deadbeefcafe", "<*>"),
        ("4f9a1c2e-0000-4000-8000-00000000abcd", "<*>"),
        ("10.0.0.7", "<*>"),
        ("10.0.0.7:8080", "<*>"),
        ("/var/lib/app/data", "<*>"),
        ("https://shop.example.com/api", "<*>"),
        ("250ms", "<*>"),
        ("1.5s", "<*>"),
        ("user_id=42", "user_id=<*>"),
        ("state=UNASSIGNED", "state=<*>"),
        ("(uid=0)", "(<*>)"),
        ("[10.0.0.1]", "[<*>]"),
        ("order", "order"),
        ("failed:", "failed:"),
    ],
)
def test_variable_tokens_are_masked(token, masked):
    assert Masker().tokens(f"x {token}") == ["x", masked]


def test_quoted_strings_are_masked_whole():
    assert Masker().tokens('coupon "spring sale 10" rejected') == ["coupon", '"<*>"', "rejected"]


def test_java_and_python_stack_traces_fold_into_their_event(tmp_path):
    p = tmp_path / "app.log"
    p.write_text(
        "2026-11-20 13:04:05,000 ERROR [main] c.s.Checkout: charge 1 failed\n"
        "java.lang.IllegalStateException: no card\n"
        "\tat c.s.Checkout.charge(Checkout.java:42)\n"
        "\t... 12 more\n"
        "Caused by: java.io.IOException: reset\n"
        "2026-11-20 13:04:06,000 ERROR [main] c.s.Checkout: charge 2 failed\n"
        "2026-11-20 13:04:07,000 - worker - ERROR - task 9 crashed\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app.py", line 3, in run\n'
        "KeyError: 'order'\n"
    )
    mined = mine_templates([p], assign=True)
    assert [(t.template, t.count) for t in mined.templates] == [
        ("charge <*> failed", 2),
        ("task <*> crashed", 1),
    ]
    assert mined.lines == 10
    charge, task = (t.id for t in mined.templates)
    assert mined.assignments == [charge] * 6 + [task] * 4


def test_json_and_logfmt_lines_template_their_message_and_keep_their_time(tmp_path):
    p = tmp_path / "app.log"
    p.write_text(
        '{"time": "2026-11-20T13:04:05Z", "level": "error", "msg": "db slow", "took": "3s"}\n'
        '{"time": "2026-11-20T13:04:06Z", "level": "error", "msg": "db slow", "took": "9s"}\n'
        'time=2026-11-20T13:04:07Z level=info msg="user login" user=bob ip=10.0.0.1\n'
        'time=2026-11-20T13:04:08Z level=info msg="user login" user=eve ip=10.0.0.2\n'
    )
    mined = mine_templates([p])
    got = {t.template: (t.count, t.first) for t in mined.templates}
    assert got == {
        "db slow took=<*>": (2, T.replace(second=5)),
        "user login user=<*> ip=<*>": (2, T.replace(second=7)),
    }


def test_lines_with_different_constants_stay_apart():
    m = AppLogMiner()
    a = m.feed("2026-11-20 13:04:05 INFO cart 1 updated with 3 items")[0]
    b = m.feed("2026-11-20 13:04:05 INFO cart 2 checked out in 5ms")[0]
    c = m.feed("2026-11-20 13:04:06 INFO cart 7 updated with 12 items")[0]
    assert a is c and a is not b
    assert a.template == "cart <*> updated with <*> items"


@pytest.fixture(scope="module")
def corpus():
    return labelled_corpus(per_system=300)


@pytest.mark.parametrize("system", SYSTEMS)
def test_each_style_of_the_labelled_corpus_groups_right(corpus, system):
    lines, labels = corpus[system]
    m = AppLogMiner(year=2026)
    assert grouping_accuracy([m.feed(line)[0].id for line in lines], labels) >= 0.95


def test_corpus_accuracy_is_at_least_090_and_beats_drain3(corpus, tmp_path):
    ours, theirs = [], []
    for lines, labels in corpus.values():
        p = tmp_path / "app.log"
        p.write_text("\n".join(lines) + "\n")
        mined = mine_templates([p], assign=True, year=2026)
        ours.append(grouping_accuracy(mined.assignments, labels))
        drain = TemplateMiner(config=TemplateMinerConfig())
        ids = [drain.add_log_message(line)["cluster_id"] for line in lines]
        theirs.append(grouping_accuracy(ids, labels))
    mean = sum(ours) / len(ours)
    assert mean >= 0.90
    assert mean > sum(theirs) / len(theirs)


def test_grouping_accuracy_counts_a_line_right_only_with_its_whole_group():
    truth = ["a", "a", "b", "b", "c"]
    assert grouping_accuracy([1, 1, 2, 2, 3], truth) == 1.0
    assert grouping_accuracy([1, 1, 1, 1, 3], truth) == pytest.approx(0.2)  # a and b merged
    assert grouping_accuracy([1, 2, 3, 3, 4], truth) == pytest.approx(0.6)  # a split
    with pytest.raises(ValueError, match="4 predictions for 5 lines"):
        grouping_accuracy([1, 2, 3, 4], truth)


def test_a_header_the_styles_miss_is_declared_per_source(tmp_path):
    p = tmp_path / "odd.log"
    p.write_text(
        "#7|20.11.2026 13:04:05|node-a| job 1 done\n#8|20.11.2026 13:04:09|node-b| job 22 done\n"
    )
    plain = mine_templates([p])
    assert plain.templates[0].first is None  # no built-in style knows this header
    mined = mine_templates(
        [p], header=r"#\d+\|(?P<ts>[^|]+)\|[^|]*\| ", time_format="%d.%m.%Y %H:%M:%S"
    )
    assert [(t.template, t.count) for t in mined.templates] == [("job <*> done", 2)]
    assert mined.templates[0].first == T and mined.templates[0].last == T.replace(second=9)
    with pytest.raises(InvalidInput, match="not a regular expression"):
        mine_templates([p], header="(?P<ts>")


def test_logs_templates_cli_takes_the_header_override(tmp_path):
    p = tmp_path / "odd.log"
    p.write_text("#7|20.11.2026 13:04:05|node-a| job 1 done\n")
    app = typer.Typer()
    register(app)
    args = ["logs", "templates", str(p), "--format", "json"]
    header = ["--header", r"#\d+\|(?P<ts>[^|]+)\|[^|]*\| ", "--time-format", "%d.%m.%Y %H:%M:%S"]
    result = CliRunner().invoke(app, [*args, *header])
    assert result.exit_code == 0, result.output
    (template,) = json.loads(result.output)["templates"]
    assert template["template"] == "job <*> done" and template["first"] == T.isoformat()
