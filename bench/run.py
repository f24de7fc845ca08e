#!/usr/bin/env python3
"""The benchmark: seeds SQLite and PostgreSQL with 1k, 100k and 1M events, starts the release
server on each, drives it with wrk from a second process on loopback, and prints one table:
scenario x backend x size -> requests/s, p50, p99, errors, server RSS. It measures
`pgbench -S` on the same PostgreSQL in the same run, so each figure can be read as a share of
the database's own ceiling.

    python3 bench/run.py                                   # everything (about 30 minutes)
    python3 bench/run.py --sizes 1000 --backends sqlite    # a quick look

Nothing here runs in the test suite: timings belong in a benchmark, not in tests.
"""

import argparse
import base64
import datetime
import http.server
import json
import os
import re
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
PORT = 18181
API = f"http://127.0.0.1:{PORT}/api/openadr/v1"
SECRET = "bench-secret-0123456789"
# The key that seals stored secrets (required on PostgreSQL), inherited by the seeder and the
# server; every run seeds fresh databases, so a random one does.
os.environ.setdefault("VTN_SECRET_KEYS", "bench:" + base64.b64encode(os.urandom(32)).decode())
SCENARIOS = [
    "list_program", "list_target", "list_window", "deep_page", "ven_list", "get_by_id",
    "create", "token", "list_during_tokens", "create_100_subs",
]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def ensure_tools():
    if shutil.which("wrk") is None:
        print("installing wrk (Debian package)", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def build():
    print("building release binaries", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "openadr3-vtn",
                    "--bin", "vtn-bench-seed"], cwd=ROOT, check=True)


# ---- PostgreSQL ------------------------------------------------------------------------------

def pg_admin_url(url):
    return url.rsplit("/", 1)[0] + "/postgres"


def pg_recreate(url, name):
    admin = pg_admin_url(url)
    sh(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])
    sh(["psql", admin, "-qc", f"CREATE DATABASE {name}"])
    return url.rsplit("/", 1)[0] + "/" + name


def pgbench(url, seconds, connections, threads):
    """pgbench -S (select-only, prepared) on its own database of the same server: transactions/s."""
    db = pg_recreate(url, "vtn_bench_pgbench")
    sh(["pgbench", "-i", "-q", "-s", "10", db])
    out = sh(["pgbench", "-S", "-M", "prepared", "-c", str(connections), "-j", str(threads),
              "-T", str(seconds), db])
    match = re.search(r"tps = ([\d.]+)", out)
    sh(["psql", pg_admin_url(url), "-qc", "DROP DATABASE vtn_bench_pgbench WITH (FORCE)"])
    return float(match.group(1)) if match else None


# ---- the server ------------------------------------------------------------------------------

class Server:
    def __init__(self, database_url, log_path):
        env = dict(os.environ, DATABASE_URL=database_url, VTN_BIND=f"127.0.0.1:{PORT}",
                   VTN_BOOTSTRAP_CLIENT_SECRET=SECRET, VTN_LOG="warn",
                   VTN_TOKEN_RATE_PER_CLIENT="1000000", VTN_TOKEN_RATE_PER_ADDRESS="1000000",
                   VTN_WEBHOOK_ALLOW_HTTP="true", VTN_WEBHOOK_ALLOW_PRIVATE="true",
                   VTN_DB_MAX_CONNECTIONS="32")
        self.env = env
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([str(RELEASE / "openadr3-vtn"), "serve"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not start; see {log_path}")

    def rss_mb(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def cli(self, *args):
        return sh([str(RELEASE / "openadr3-vtn"), *args], env=self.env)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def request(method, path, token=None, body=None, basic=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = b"grant_type=client_credentials"
    req = urllib.request.Request(API + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read() or b"null")


def token_for(client_id, secret):
    return request("POST", "/auth/token", basic=f"{client_id}:{secret}")["access_token"]


# ---- a webhook receiver for the subscription scenario ----------------------------------------

class Receiver(http.server.BaseHTTPRequestHandler):
    received = 0

    def do_GET(self):  # the echo check of a new subscription
        echo = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("echo", [""])[0]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(echo.encode())

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---- wrk ---------------------------------------------------------------------------------------

def lua(method, paths, token=None, body=None, basic=None):
    """A wrk script that sends `method` to the paths in turn, with the headers and body given."""
    headers = ['wrk.headers["Content-Type"] = "application/json"']
    if token:
        headers.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    if basic:
        auth = base64.b64encode(basic.encode()).decode()
        headers = ['wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
                   f'wrk.headers["Authorization"] = "Basic {auth}"']
        body = "grant_type=client_credentials"
    elif body is not None:
        body = json.dumps(body)
    paths_lua = ", ".join(json.dumps("/api/openadr/v1" + p) for p in paths)
    body_lua = json.dumps(body) if body is not None else "nil"
    return "\n".join([
        f'wrk.method = "{method}"',
        *headers,
        f"local paths = {{{paths_lua}}}",
        f"local body = {body_lua}",
        "local i = 0",
        "request = function()",
        "  i = i + 1",
        "  return wrk.format(nil, paths[(i % #paths) + 1], nil, body)",
        "end",
    ])


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def parse_wrk(out):
    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m.group(1)) * UNITS[m.group(2)] if m else None
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": latency(50),
            "p99": latency(99), "errors": errors}


def wrk(script, seconds, connections, threads, tmp):
    path = Path(tmp) / "script.lua"
    path.write_text(script)
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
           "-s", str(path), f"http://127.0.0.1:{PORT}"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def measure(script, args, tmp, connections=None):
    conns = connections or args.connections
    if args.warmup:
        wrk(script, args.warmup, conns, args.threads, tmp).communicate()
    out, _ = wrk(script, args.duration, conns, args.threads, tmp).communicate()
    return parse_wrk(out)


# ---- one backend and size ------------------------------------------------------------------------

def run_size(backend, size, args, tmp):
    if backend == "sqlite":
        db_dir = Path(tmp) / f"sqlite-{size}"
        db_dir.mkdir()
        url = f"sqlite://{db_dir}/bench.db"
    else:
        url = pg_recreate(args.pg_url, "vtn_bench")
    started = time.time()
    seeded = json.loads(sh([str(RELEASE / "vtn-bench-seed"), "--database-url", url,
                            "--events", str(size)]))
    seed_seconds = time.time() - started
    if backend == "postgres":
        # A steady-state table: statistics, and the visibility map that index-only scans need
        # (autovacuum would do the same a little later on a live system).
        sh(["psql", url, "-qc", "VACUUM ANALYZE"])
    if args.explain and backend == "postgres":
        explain(url, seeded)
    server = Server(url, Path(tmp) / f"server-{backend}-{size}.log")
    results = {}
    try:
        admin = token_for("admin", SECRET)
        ven_client = json.loads(server.cli("client", "create", "--tenant", "default", "--role",
                                           "ven", "--ven-name", "ven-bench", "--scopes",
                                           "read_all"))
        ven = token_for(ven_client["client_id"], ven_client["client_secret"])
        program = seeded["programs"][0]
        per_program = seeded["eventsPerProgram"]
        deep = max(per_program - 50, 0)
        new_event = {"programID": program, "eventName": "bench-new",
                     "targets": [{"type": "GROUP", "values": ["g1"]}],
                     "intervalPeriod": {"start": "2026-06-01T00:00:00Z", "duration": "PT1H"},
                     "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.3]}]}]}
        list_path = f"/events?programID={program}&limit=50"
        scripts = {
            "list_program": lua("GET", [list_path], admin),
            "list_target": lua("GET", [f"/events?programID={program}&targetType=GROUP"
                                       f"&targetValues=g{g}&limit=50" for g in range(0, 100, 10)],
                               admin),
            "list_window": lua("GET", [f"/events?programID={program}&x-start=2026-03-0{d}T00:00:00Z"
                                       f"&x-end=2026-03-0{d + 1}T00:00:00Z&limit=50"
                                       for d in range(1, 8)], admin),
            "deep_page": lua("GET", [f"/events?programID={program}&skip={deep}&limit=50"], admin),
            "ven_list": lua("GET", ["/events?limit=50"], ven),
            "get_by_id": lua("GET", [f"/events/{i}" for i in seeded["eventIds"]], admin),
            "create": lua("POST", ["/events"], admin, new_event),
            "token": lua("POST", ["/auth/token"], basic=f"admin:{SECRET}"),
        }
        for name in args.scenarios:
            if name in scripts:
                results[name] = measure(scripts[name], args, tmp,
                                        connections=10 if name == "token" else None)
            elif name == "list_during_tokens":
                # List throughput while 10 clients request tokens (argon2 runs off the workers).
                tokens = wrk(scripts["token"], args.duration + args.warmup, 10, 1, tmp)
                time.sleep(args.warmup)
                out, _ = wrk(scripts["list_program"], args.duration, args.connections,
                             args.threads, tmp).communicate()
                tokens.communicate()
                results[name] = parse_wrk(out)
            elif name == "create_100_subs":
                receiver = start_receiver()
                callback = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
                for n in range(100):
                    request("POST", "/subscriptions", admin, {
                        "clientName": f"sub-{n}", "programID": program,
                        "objectOperations": [{"objects": ["EVENT"], "operations": ["POST"],
                                              "callbackUrl": callback}]})
                results[name] = measure(scripts["create"], args, tmp)
                results[name]["delivered"] = Receiver.received
                receiver.shutdown()
            results[name]["rss"] = server.rss_mb()
            print(f"  {backend:8} {size:>8} {name:20} {fmt_row(results[name])}", file=sys.stderr)
    finally:
        server.stop()
    return seed_seconds, results


def explain(url, seeded):
    """Query plans of the list scenarios, as the server's list query is shaped."""
    program = seeded["programs"][0]
    # The first window of the list_window scenario: 2026-03-01 (UTC), in Unix milliseconds.
    day_start = int(datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc).timestamp()) * 1000
    day_end = day_start + 86_400_000
    page = ("SELECT o.body FROM events o WHERE o.seq IN (SELECT e.seq FROM events e "
            "WHERE e.tenant_id = 'default' AND e.program_id = '{program}'{more} "
            "ORDER BY e.seq LIMIT 50 OFFSET {skip}) ORDER BY o.seq")
    cases = {
        "list_program": ("", 0),
        "list_target": (" AND EXISTS (SELECT 1 FROM event_targets t WHERE t.owner_seq = e.seq "
                        "AND t.target_type = 'GROUP' AND t.target_value IN ('g10'))", 0),
        "list_window": (f" AND (e.start_ms IS NULL OR e.start_ms < {day_end}) AND "
                        f"(e.end_ms IS NULL OR e.end_ms > {day_start} OR "
                        f"(e.end_ms = e.start_ms AND e.start_ms >= {day_start}))", 0),
        "deep_page": ("", max(seeded["eventsPerProgram"] - 50, 0)),
    }
    for name, (more, skip) in cases.items():
        sql = page.format(program=program, more=more, skip=skip)
        plan = sh(["psql", url, "-qAtc", f"EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) {sql}"])
        print(f"\n-- {name}\n{plan}", file=sys.stderr)


def fmt(value, digits=1):
    return "-" if value is None else f"{value:,.{digits}f}"


def fmt_row(r):
    return (f"{fmt(r['rps'], 0):>9} req/s  p50 {fmt(r['p50'], 2):>7} ms  p99 {fmt(r['p99'], 2):>7} ms"
            f"  errors {r['errors']:>5}  RSS {fmt(r.get('rss'), 0):>4} MB")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--explain", action="store_true",
                        help="print the PostgreSQL plans of the list queries after seeding")
    args = parser.parse_args()
    args.scenarios = args.scenarios.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")

    ensure_tools()
    if not args.no_build:
        build()
    ceiling = None
    if "postgres" in backends:
        ceiling = pgbench(args.pg_url, args.duration, args.connections, args.threads)
        print(f"pgbench -S: {fmt(ceiling, 0)} tps", file=sys.stderr)
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for size in sizes:
                print(f"{backend} with {size:,} events", file=sys.stderr)
                seed_seconds, results = run_size(backend, size, args, tmp)
                print(f"  seeded in {seed_seconds:.1f} s", file=sys.stderr)
                for name, r in results.items():
                    table.append((name, backend, size, r))
        if "postgres" in backends:
            sh(["psql", pg_admin_url(args.pg_url), "-qc",
                "DROP DATABASE IF EXISTS vtn_bench WITH (FORCE)"])

    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "unknown CPU")
    print(f"\nMachine: {os.cpu_count()} cores, {cpu}; wrk {args.threads} threads, "
          f"{args.connections} connections, {args.warmup} s warm-up then {args.duration} s.")
    if ceiling:
        print(f"pgbench -S (select-only, prepared, same connections): {ceiling:,.0f} tps\n")
    print("| scenario | backend | events | req/s | p50 ms | p99 ms | errors | RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, backend, size, r in table:
        print(f"| {name} | {backend} | {size:,} | {fmt(r['rps'], 0)} | {fmt(r['p50'], 2)} | "
              f"{fmt(r['p99'], 2)} | {r['errors']} | {fmt(r.get('rss'), 0)} |")


if __name__ == "__main__":
    main()
