"""Write the access-log samples in this folder, one per format, from the formats' documentation.

    python tests/data/accesslogs/make_samples.py

Every sample holds the same 45 minutes of traffic (2026-11-20 13:00-13:45 UTC, 12 requests
a minute) in which /checkout answers 500 to half its requests from 13:30, slowly (1.5 s).
Field layouts follow the public documentation of each product: nginx/ingress-nginx log
format, Traefik access logs, Caddy's JSON access log, Envoy's default format, AWS ALB and
Classic ELB access log entries, HAProxy's HTTP log format, IIS W3C extended logging,
CloudFront standard logs, Google Cloud HTTP(S) load balancer logging, Cloudflare Logpush.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
MINUTES = 45
ONSET_MINUTE = 30
ROUTES = ["/", "/api/orders/{}", "/checkout", "/checkout", "/login", "/static/app.js"]
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"


def requests(seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for minute in range(MINUTES):
        for k in range(12):
            ts = START + timedelta(minutes=minute, seconds=k * 5, microseconds=rng.randrange(10**6))
            path = rng.choice(ROUTES).replace("{}", str(rng.randrange(1000, 9999)))
            status = rng.choice([200, 200, 200, 200, 304, 404]) if rng.random() < 0.3 else 200
            latency = rng.uniform(0.01, 0.09)
            if path == "/checkout" and minute >= ONSET_MINUTE and rng.random() < 0.5:
                status, latency = 500, rng.uniform(1.2, 1.8)
            out.append(
                {
                    "ts": ts,
                    "ip": f"10.1.{rng.randrange(0, 4)}.{rng.randrange(1, 250)}",
                    "port": rng.randrange(1024, 65000),
                    "method": "POST" if path == "/checkout" else "GET",
                    "path": path,
                    "status": status,
                    "latency": latency,
                    "bytes": rng.randrange(200, 9000),
                    "id": f"{rng.getrandbits(128):032x}",
                }
            )
    return out


def clf(t: datetime) -> str:
    return t.strftime("%d/%b/%Y:%H:%M:%S +0000")


def iso(t: datetime, digits: int = 6) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[: 20 + digits] + "Z"


def ingress_nginx(r: dict) -> str:
    # log-format-upstream of ingress-nginx (docs: user-guide/nginx-configuration/log-format)
    return (
        f'{r["ip"]} - - [{clf(r["ts"])}] "{r["method"]} {r["path"]} HTTP/1.1" {r["status"]} '
        f'{r["bytes"]} "-" "{UA}" 312 {r["latency"]:.3f} [shop-web-80] [] 10.244.1.7:8080 '
        f"{r['bytes']} {r['latency'] - 0.002:.3f} {r['status']} {r['id']}"
    )


def traefik(r: dict) -> str:
    # Traefik CLF: ... "<referer>" "<UA>" <count> "<router>" "<server URL>" <duration>ms
    return (
        f'{r["ip"]} - - [{clf(r["ts"])}] "{r["method"]} {r["path"]} HTTP/1.1" {r["status"]} '
        f'{r["bytes"]} "-" "{UA}" {r["bytes"] % 977} "shop@docker" "http://172.18.0.4:8080" '
        f"{round(r['latency'] * 1000)}ms"
    )


def traefik_json(r: dict) -> str:
    return json.dumps(
        {
            "ClientAddr": f"{r['ip']}:{r['port']}",
            "ClientHost": r["ip"],
            "ClientPort": str(r["port"]),
            "DownstreamContentSize": r["bytes"],
            "DownstreamStatus": r["status"],
            "Duration": round(r["latency"] * 1e9),
            "OriginStatus": r["status"],
            "RequestMethod": r["method"],
            "RequestPath": r["path"],
            "RequestProtocol": "HTTP/1.1",
            "RouterName": "shop@docker",
            "StartUTC": iso(r["ts"], 6)[:-1] + "123Z",
            "level": "info",
            "msg": "",
            "time": r["ts"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


def caddy(r: dict) -> str:
    return json.dumps(
        {
            "level": "info",
            "ts": round(r["ts"].timestamp(), 6),
            "logger": "http.log.access.log0",
            "msg": "handled request",
            "request": {
                "remote_ip": r["ip"],
                "remote_port": str(r["port"]),
                "client_ip": r["ip"],
                "proto": "HTTP/2.0",
                "method": r["method"],
                "host": "shop.example.com",
                "uri": r["path"],
                "headers": {"User-Agent": [UA]},
            },
            "bytes_read": 0,
            "user_id": "",
            "duration": round(r["latency"], 6),
            "size": r["bytes"],
            "status": r["status"],
            "resp_headers": {"Server": ["Caddy"]},
        }
    )


def envoy(r: dict) -> str:
    # the default format: [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%
    # %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
    # %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
    # "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
    ms = round(r["latency"] * 1000)
    rid = r["id"]
    uuid = f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:]}"
    return (
        f'[{iso(r["ts"], 3)}] "{r["method"]} {r["path"]} HTTP/1.1" {r["status"]} - 0 '
        f'{r["bytes"]} {ms} {max(ms - 1, 0)} "{r["ip"]}" "{UA}" "{uuid}" "shop.example.com" '
        f'"10.244.1.7:8080"'
    )


def envoy_json(r: dict) -> str:
    return json.dumps(
        {
            "start_time": iso(r["ts"], 3),
            "method": r["method"],
            "path": r["path"],
            "protocol": "HTTP/1.1",
            "response_code": r["status"],
            "response_flags": "-",
            "bytes_received": 0,
            "bytes_sent": r["bytes"],
            "duration": round(r["latency"] * 1000),
            "downstream_remote_address": f"{r['ip']}:{r['port']}",
            "x-request-id": r["id"],
            "authority": "shop.example.com",
        }
    )


def alb(r: dict) -> str:
    url = f"https://shop.example.com:443{r['path']}"
    target = r["latency"] - 0.001
    return (
        f"https {iso(r['ts'])} app/shop-lb/50dc6c495c0c9188 {r['ip']}:{r['port']} "
        f"10.0.0.1:80 0.000 {target:.3f} 0.001 {r['status']} {r['status']} 34 {r['bytes']} "
        f'"{r["method"]} {url} HTTP/1.1" "{UA}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
        "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/shop/73e2d6bc24d8a067 "
        f'"Root=1-58337262-{r["id"][:24]}" "shop.example.com" '
        '"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" '
        f'0 {iso(r["ts"])} "forward" "-" "-" "10.0.0.1:80" "{r["status"]}" "-" "-"'
    )


def elb(r: dict) -> str:
    url = f"http://shop.example.com:80{r['path']}"
    return (
        f"{iso(r['ts'])} shop-lb {r['ip']}:{r['port']} 10.0.0.1:80 0.000073 "
        f"{r['latency']:.6f} 0.000057 {r['status']} {r['status']} 0 {r['bytes']} "
        f'"{r["method"]} {url} HTTP/1.1" "{UA}" - -'
    )


def haproxy(r: dict) -> str:
    total = round(r["latency"] * 1000)
    accept = r["ts"].strftime("%d/%b/%Y:%H:%M:%S.") + f"{r['ts'].microsecond // 1000:03d}"
    return (
        f"{r['ts']:%b %d %H:%M:%S} lb1 haproxy[14389]: {r['ip']}:{r['port']} [{accept}] "
        f"http-in shop/srv1 0/0/1/{max(total - 2, 0)}/{total} {r['status']} {r['bytes']} "
        f'- - ---- 1/1/1/1/0 0/0 "{r["method"]} {r["path"]} HTTP/1.1"'
    )


IIS_FIELDS = (
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)


def iis(r: dict) -> str:
    stem, _, query = r["path"].partition("?")
    return (
        f"{r['ts']:%Y-%m-%d %H:%M:%S} 10.0.0.5 {r['method']} {stem} {query or '-'} 443 - "
        f"{r['ip']} {UA.replace(' ', '+')} - {r['status']} 0 0 {round(r['latency'] * 1000)}"
    )


CLOUDFRONT_FIELDS = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
    "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)


def cloudfront(r: dict) -> str:
    result = "Error" if r["status"] >= 500 else "Miss"
    values = [
        f"{r['ts']:%Y-%m-%d}",
        f"{r['ts']:%H:%M:%S}",
        "FRA56-P1",
        str(r["bytes"]),
        r["ip"],
        r["method"],
        "d111111abcdef8.cloudfront.net",
        r["path"],
        str(r["status"]),
        "-",
        UA.replace(" ", "%20"),
        "-",
        "-",
        result,
        f"{r['id'][:16]}==",
        "shop.example.com",
        "https",
        "120",
        f"{r['latency']:.3f}",
        "-",
        "TLSv1.3",
        "TLS_AES_128_GCM_SHA256",
        result,
        "HTTP/2.0",
        "-",
        "-",
        str(r["port"]),
        f"{r['latency']:.3f}",
        result,
        "text/html",
        str(r["bytes"]),
        "-",
        "-",
    ]
    return "\t".join(values)


def gcp(r: dict) -> str:
    return json.dumps(
        {
            "insertId": r["id"][:14],
            "jsonPayload": {
                "@type": "type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry",
                "statusDetails": "response_sent_by_backend",
            },
            "httpRequest": {
                "requestMethod": r["method"],
                "requestUrl": f"https://shop.example.com{r['path']}",
                "requestSize": "120",
                "status": r["status"],
                "responseSize": str(r["bytes"]),
                "userAgent": UA,
                "remoteIp": r["ip"],
                "serverIp": "10.128.0.9",
                "latency": f"{r['latency']:.6f}s",
            },
            "resource": {"type": "http_load_balancer", "labels": {"project_id": "shop"}},
            "timestamp": iso(r["ts"]),
            "severity": "INFO",
            "logName": "projects/shop/logs/requests",
            "trace": f"projects/shop/traces/{r['id']}",
        }
    )


def cloudflare(r: dict) -> str:
    return json.dumps(
        {
            "ClientIP": r["ip"],
            "ClientRequestHost": "shop.example.com",
            "ClientRequestMethod": r["method"],
            "ClientRequestURI": r["path"],
            "EdgeEndTimestamp": int((r["ts"] + timedelta(seconds=r["latency"])).timestamp() * 1e9),
            "EdgeResponseBytes": r["bytes"],
            "EdgeResponseStatus": r["status"],
            "EdgeStartTimestamp": int(r["ts"].timestamp() * 1e9),
            "EdgeTimeToFirstByteMs": round(r["latency"] * 1000),
            "OriginResponseStatus": r["status"],
            "RayID": r["id"][:16],
        }
    )


SAMPLES: dict[str, tuple[Callable[[dict], str], list[str]]] = {
    "ingress-nginx.log": (ingress_nginx, []),
    "traefik.log": (traefik, []),
    "traefik.json": (traefik_json, []),
    "caddy.json": (caddy, []),
    "envoy.log": (envoy, []),
    "envoy.json": (envoy_json, []),
    "alb.log": (alb, []),
    "elb.log": (elb, []),
    "haproxy.log": (haproxy, []),
    "iis.log": (
        iis,
        [
            "#Software: Microsoft Internet Information Services 10.0",
            "#Version: 1.0",
            "#Date: 2026-11-20 13:00:00",
            f"#Fields: {IIS_FIELDS}",
        ],
    ),
    "cloudfront.log": (cloudfront, ["#Version: 1.0", f"#Fields: {CLOUDFRONT_FIELDS}"]),
    "gcp-lb.json": (gcp, []),
    "cloudflare.json": (cloudflare, []),
}


def main() -> None:
    rows = requests()
    for name, (line, header) in SAMPLES.items():
        (HERE / name).write_text("".join(f"{x}\n" for x in [*header, *map(line, rows)]))


if __name__ == "__main__":
    main()
