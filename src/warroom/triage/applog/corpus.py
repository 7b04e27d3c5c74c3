"""A labelled app-log corpus in the header styles templating must read, and its score.

Each system writes its own header style (syslog, RFC 5424, Apache error, nginx error,
log4j, logback, Python logging with tracebacks, Go, klog, java.util.logging, ISO 8601,
epoch, HDFS, Android, Spark, JSON lines, logfmt) around messages of known templates whose
variables are numbers, hex, UUIDs, IPs, IP:port, paths, URLs, durations, key=values,
quoted strings and plain words (user and host names). Every line carries the label of
its event, so `grouping_accuracy` scores any miner's assignment (the measure of the
loghub benchmark: a line is right when its group holds exactly its true group's lines).
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

_WORDS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
_HOSTS = ["db-primary", "cache", "search", "billing", "auth", "queue", "mail", "ldap"]
_DIRS = ["var/lib/app", "srv/data", "tmp", "opt/shop/conf", "home/deploy"]


def _value(kind: str, rng: random.Random) -> str:
    match kind:
        case "num":
            return str(rng.choice([rng.randrange(10), rng.randrange(1000), rng.randrange(10**7)]))
        case "hex":
            return f"0x{rng.getrandbits(32):x}"
        case "id":
            return f"{rng.getrandbits(64):016x}"
        case "uuid":
            h = f"{rng.getrandbits(128):032x}"
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        case "ip":
            return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        case "ipport":
            return f"{_value('ip', rng)}:{rng.randrange(1024, 65535)}"
        case "path":
            return f"/{rng.choice(_DIRS)}/{rng.choice(_WORDS)}.{rng.choice(['log', 'json', 'db'])}"
        case "url":
            return f"https://{rng.choice(_HOSTS)}.example.com/api/v1/{rng.choice(_WORDS)}"
        case "dur":
            return f"{rng.uniform(0.1, 900):.1f}{rng.choice(['ms', 's', 'us'])}"
        case "user":
            return rng.choice(_WORDS)
        case "host":
            return rng.choice(_HOSTS)
        case "blk":
            return f"blk_{rng.choice(['', '-'])}{rng.getrandbits(60)}"
        case "prog":
            return rng.choice(["chrome.exe", "firefox.exe", "outlook.exe", "Skype.exe"])
        case "date":
            t = datetime(2005, 6, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**7))
            return f"{t:%a %b %d %H:%M:%S %Y}"
        case "q":
            return '"' + " ".join(rng.sample(_WORDS, rng.randrange(1, 4))) + '"'
    raise ValueError(kind)


Header = Callable[[datetime, random.Random], str]
# name -> (header, templates); "{kind}" marks a variable
SYSTEMS: dict[str, tuple[Header, list[str]]] = {
    "syslog": (
        lambda t, r: f"{t:%b} {t.day:2d} {t:%H:%M:%S} web1 sshd[{r.randrange(900, 30000)}]: ",
        [
            "Accepted publickey for {user} from {ip} port {num} ssh2",
            "Failed password for invalid user {user} from {ip} port {num} ssh2",
            "pam_unix(sshd:session): session opened for user {user} by (uid={num})",
            "pam_unix(sshd:session): session closed for user {user}",
            "Received disconnect from {ip} port {num}:11: disconnected by user",
            "Connection closed by {ip} port {num} [preauth]",
        ],
    ),
    "rfc5424": (
        lambda t, r: (
            f"<165>1 {t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z app1 shop "
            f"{r.randrange(100, 999)} ID47 - "
        ),
        [
            "order {num} accepted for {user}",
            "payment declined for order {num}: card expired",
            "inventory reserved: sku={id} qty={num}",
            "shipping label printed for order {num}",
        ],
    ),
    "apache-error": (
        lambda t, r: f"[{t:%a %b %d %H:%M:%S %Y}] [{r.choice(['error', 'notice'])}] ",
        [
            "[client {ip}] File does not exist: {path}",
            "[client {ip}] Directory index forbidden by rule: {path}",
            "jk2_init() Found child {num} in scoreboard slot {num}",
            "workerEnv.init() ok {path}",
            "mod_jk child workerEnv in error state {num}",
            "Apache/2.4.58 configured -- resuming normal operations",
        ],
    ),
    "nginx-error": (
        lambda t, r: (
            f"{t:%Y/%m/%d %H:%M:%S} [error] {r.randrange(100, 999)}#0: *{r.randrange(1, 10**6)} "
        ),
        [
            "connect() failed (111: Connection refused) while connecting to upstream, "
            "client: {ip}, server: shop, request: {q}, upstream: {url}",
            "upstream timed out (110: Connection timed out) while reading response header "
            "from upstream, client: {ip}",
            'open() "{path}" failed (2: No such file or directory), client: {ip}',
            "no live upstreams while connecting to upstream, client: {ip}",
        ],
    ),
    "log4j": (
        lambda t, r: (
            f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} "
            f"{r.choice(['INFO', 'WARN'])} [pool-{r.randrange(1, 9)}-thread-{r.randrange(1, 30)}] "
            "org.apache.hadoop.mapred.TaskTracker: "
        ),
        [
            "Task attempt_{id}_m_{num} is done.",
            "Received commit task action for attempt_{id}",
            "LaunchTaskAction (registerTask): attempt_{id} task's state:UNASSIGNED",
            "Trying to launch : attempt_{id} which needs {num} slots",
            "Progress of TaskAttempt attempt_{id} is : {num}",
            "Address change detected. Old: {host}/{ip} New: {host}/{ip}",
        ],
    ),
    "logback": (
        lambda t, r: (
            f"{t:%H:%M:%S}.{t.microsecond // 1000:03d} "
            f"[http-nio-8080-exec-{r.randrange(1, 20)}] INFO  c.e.shop.CartController - "
        ),
        [
            "cart {uuid} updated with {num} items",
            "cart {uuid} checked out in {dur}",
            "coupon {q} rejected for cart {uuid}",
        ],
    ),
    "python": (
        lambda t, r: (
            f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} - "
            f"worker.tasks - {r.choice(['INFO', 'ERROR'])} - "
        ),
        [
            "task {uuid} finished in {dur}",
            "retrying task {uuid} (attempt {num} of 5)",
            "connection to {host} lost, reconnecting",
            "TRACEBACK",
        ],
    ),
    "go": (
        lambda t, r: f"{t:%Y/%m/%d %H:%M:%S} ",
        [
            "http: TLS handshake error from {ipport}: EOF",
            "listening on {ipport}",
            "served {num} bytes to {ipport} in {dur}",
            "cache miss for key={id}",
        ],
    ),
    "klog": (
        lambda t, r: (
            f"{r.choice('IWE')}{t:%m%d %H:%M:%S}.{t.microsecond:06d}    "
            f"{r.randrange(1, 99)} {r.choice(['controller.go', 'reflector.go'])}:"
            f"{r.randrange(10, 900)}] "
        ),
        [
            'Successfully synced "{host}/{user}-deployment"',
            'Failed to watch *v1.Pod: failed to list *v1.Pod: Get "{url}": dial tcp {ipport}: '
            "connect: connection refused",
            "Starting workers count={num}",
            "Observed a panic in reconciler: runtime error at {hex}",
        ],
    ),
    "jul": (
        lambda t, r: (
            f"{t:%b} {t.day}, {t:%Y} {t.hour % 12 or 12}:{t:%M:%S} "
            f"{'PM' if t.hour >= 12 else 'AM'} org.shop.Server handle\n"
            f"{r.choice(['INFO', 'SEVERE', 'WARNING'])}: "
        ),
        [
            "request {num} handled in {dur}",
            "session {id} expired",
        ],
    ),
    "iso": (
        lambda t, r: (
            f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z "
            f"{r.choice(['INFO ', 'WARN ', 'ERROR'])} "
        ),
        [
            "GET {url} -> 200 in {dur}",
            "user {user} logged in from {ip}",
            "user {user} logged out",
            "disk usage on {path} at {num}%",
            "rebalance of partition {num} took {dur}",
        ],
    ),
    "epoch": (
        lambda t, r: f"{int(t.timestamp())}.{t.microsecond // 1000:03d} ",
        [
            "worker {num} started",
            "worker {num} stopped after {num} jobs",
            "queue depth {num} above threshold {num}",
        ],
    ),
    "hdfs": (
        lambda t, r: f"{t:%y%m%d %H%M%S} {r.randrange(1, 999)} INFO dfs.DataNode$PacketResponder: ",
        [
            "PacketResponder {num} for block {blk} terminating",
            "Received block {blk} of size {num} from /{ip}",
            "Receiving block {blk} src: /{ipport} dest: /{ipport}",
            "Deleting block {blk} file {path}",
        ],
    ),
    "android": (
        lambda t, r: (
            f"{t:%m-%d %H:%M:%S}.{t.microsecond // 1000:03d}  {r.randrange(900, 3000)}  "
            f"{r.randrange(900, 3000)} D PowerManagerService: "
        ),
        [
            "acquire lock={num}, flags={hex}, tag={q}, ws=null, uid={num}, pid={num}",
            "release:lock={num}, flg=0x0, tag={q}, name=android, ws=null, uid={num}, pid={num}",
            "updateWakeLockSummaryLocked: mWakefulness=Awake, mWakeLockSummary={hex}",
        ],
    ),
    "spark": (
        lambda t, r: f"{t:%y/%m/%d %H:%M:%S} INFO storage.BlockManager: ",
        [
            "Found block rdd_{num}_{num} locally",
            "Removing RDD {num}",
            "Told master about block broadcast_{num}_piece0",
        ],
    ),
    # hand-written in the shapes of public system logs (loghub-style), harder: variables
    # that are words, a program name first, dates inside the message
    "linux": (
        lambda t, r: (
            f"{t:%b} {t.day:2d} {t:%H:%M:%S} combo "
            f"{r.choice(['sshd(pam_unix)', 'su(pam_unix)'])}[{r.randrange(900, 30000)}]: "
        ),
        [
            "authentication failure; logname= uid={num} euid={num} tty=NODEVssh ruser= "
            "rhost={host}.example.com",
            "check pass; user unknown",
            "session opened for user {user} by (uid={num})",
            "session closed for user {user}",
            "connection from {ip} ({host}.example.com) at {date}",
        ],
    ),
    "openstack": (
        lambda t, r: (
            f"nova-api.log.1.2017-05-16_13:53:08 {t:%Y-%m-%d %H:%M:%S}."
            f"{t.microsecond // 1000:03d} {r.randrange(900, 30000)} INFO "
            "nova.osapi_compute.wsgi.server [req-"
            f"{_value('uuid', r)} {_value('id', r)} {_value('id', r)} - - -] "
        ),
        [
            '{ip} "GET /v2/{id}/servers/detail HTTP/1.1" status: 200 len: {num} time: {dur}',
            "[instance: {uuid}] VM Started (Lifecycle Event)",
            "[instance: {uuid}] Took {num} seconds to spawn the instance on the hypervisor.",
            "[instance: {uuid}] Terminating instance",
        ],
    ),
    "proxifier": (
        lambda t, r: f"[{t:%m.%d %H:%M:%S}] {_value('prog', r)} - ",
        [
            "{host}.example.com:{num} open through proxy proxy.example.com:5070 HTTPS",
            "{host}.example.com:{num} close, {num} bytes sent, {num} bytes received, "
            "lifetime {dur}",
            "{host}.example.com:{num} error : Could not connect through proxy "
            "proxy.example.com:5070 - Proxy server cannot establish a connection",
        ],
    ),
    "zookeeper": (
        lambda t, r: (
            f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} - "
            f"{r.choice(['INFO ', 'WARN '])} [QuorumPeer[myid={r.randrange(1, 4)}]/0:0:0:0:0:0:0:0:"
            "2181:FastLeaderElection@774] - "
        ),
        [
            "Notification time out: {num}",
            "Received connection request /{ipport}",
            "Connection broken for id {num}, my id = {num}, error = ",
            "Interrupted while waiting for message on queue",
        ],
    ),
    "windows": (
        lambda t, r: (
            f"{t:%Y-%m-%d %H:%M:%S}, {r.choice(['Info   ', 'Warning'])}               CBS    "
        ),
        [
            "Loaded Servicing Stack v{num}.{num} with Core: {path}",
            "SQM: Initializing online with Windows opt-in: False",
            "Session: {num}_{num} initialized by client WindowsUpdateAgent.",
            "Unrecognized packageExtended attribute.",
        ],
    ),
    "healthapp": (
        lambda t, r: (
            f"{t:%Y%m%d-%H:%M:%S}:{t.microsecond // 1000}|"
            f"{r.choice(['Step_LSC', 'Step_SPUtils'])}|30002312|"
        ),
        [
            "onStandStepChanged {num}",
            "onExtend:{num} {num} {num} {num}",
            "processHandleBroadcastAction action:android.intent.action.SCREEN_ON",
            "setTodayTotalDetailSteps={num}##{num}##{num}",
        ],
    ),
    "bgl": (
        lambda t, r: (
            f"- {int(t.timestamp())} {t:%Y.%m.%d} R02-M1-N{r.randrange(9)}-C:J12-U11 "
            f"{t:%Y-%m-%d-%H.%M.%S}.{t.microsecond:06d} R02-M1-N0-C:J12-U11 RAS KERNEL INFO "
        ),
        [
            "instruction cache parity error corrected",
            "generating core.{num}",
            "{num} double-hummer alignment exceptions",
            "CE sym {num}, at {hex}, mask {hex}",
        ],
    ),
    "mac": (
        lambda t, r: (
            f"{t:%b} {t.day:2d} {t:%H:%M:%S} calvisitor-10-105-160-95 "
            f"{r.choice(['kernel[0]', 'com.apple.cts[43]', 'QQ[10018]'])}: "
        ),
        [
            "IOThunderboltSwitch<0>(0x0)::listenerCallback - Thunderbolt HPD packet for "
            "route = 0x0 port = {num} unplug = {num}",
            "ARPT: {num}.{num}: wl0: wl_update_tcpkeep_seq: Original Seq: {num}, Ack: {num}, "
            "Win size: {num}",
            "Wake reason: ?",
            "AppleCamIn::systemWakeCall - messageType = {hex}",
        ],
    ),
    "json": (
        lambda t, r: "",
        ["JSON"],
    ),
    "logfmt": (
        lambda t, r: "",
        ["LOGFMT"],
    ),
}
_JSON_EVENTS = [
    ("request served", {"path": "path", "status": "num", "took": "dur"}),
    ("db query slow", {"query_id": "id", "took": "dur"}),
    ("login failed", {"user": "user", "ip": "ip"}),
]


def _fill(template: str, rng: random.Random) -> str:
    out = template
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        out = out[:start] + _value(out[start + 1 : end], rng) + out[end + 1 :]
    return out


def _lines_for(system: str, t: datetime, rng: random.Random) -> tuple[list[str], str]:
    """One event: its physical lines and its label."""
    header, templates = SYSTEMS[system]
    template = rng.choice(templates)
    if template == "JSON":
        msg, fields = rng.choice(_JSON_EVENTS)
        obj = {"time": f"{t:%Y-%m-%dT%H:%M:%S}Z", "level": "info", "msg": msg}
        obj.update({k: _value(v, rng) for k, v in fields.items()})
        return [json.dumps(obj)], f"json:{msg}"
    if template == "LOGFMT":
        msg, fields = rng.choice(_JSON_EVENTS)
        pairs = " ".join(f"{k}={_value(v, rng)}" for k, v in fields.items())
        return [f'time={t:%Y-%m-%dT%H:%M:%S}Z level=info msg="{msg}" {pairs}'], f"logfmt:{msg}"
    if template == "TRACEBACK":
        err = rng.choice(["KeyError: 'order'", f"TimeoutError: {_value('host', rng)} timed out"])
        lines = [
            header(t, rng) + f"task {_value('uuid', rng)} crashed",
            "Traceback (most recent call last):",
            f'  File "{_value("path", rng)}", line {rng.randrange(1, 400)}, in run',
            "    result = handler(payload)",
            err,
        ]
        return lines, "python:crash"  # the event is its first line; the trace is folded
    text = (header(t, rng) + _fill(template, rng)).split("\n")
    if system == "jul":  # two lines: the logger line and the message line, two events
        return text, f"jul:{template}"
    return text, f"{system}:{template}"


def labelled_corpus(
    per_system: int = 400, seed: int = 11, systems: Sequence[str] | None = None
) -> dict[str, tuple[list[str], list[str]]]:
    """system -> (lines, the label of every line's event)."""
    rng = random.Random(seed)
    out: dict[str, tuple[list[str], list[str]]] = {}
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    for system in systems or SYSTEMS:
        lines: list[str] = []
        labels: list[str] = []
        t = start
        for _ in range(per_system):
            t += timedelta(milliseconds=rng.randrange(1, 4000))
            event, label = _lines_for(system, t, rng)
            if system == "jul":
                labels += ["jul:logger", label]
            else:
                labels += [label] * len(event)
            lines += event
        out[system] = (lines, labels)
    return out


def grouping_accuracy(predicted: Sequence[object], truth: Sequence[str]) -> float:
    """Share of lines whose predicted group holds exactly the lines of their true group."""
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} lines")
    if not truth:
        return 1.0
    members: dict[object, Counter[str]] = defaultdict(Counter)
    for p, t in zip(predicted, truth, strict=True):
        members[p][t] += 1
    true_size = Counter(truth)
    right = 0
    for labels in members.values():
        if len(labels) == 1:
            (label, n), *_ = labels.items()
            if n == true_size[label]:
                right += n
    return right / len(truth)
