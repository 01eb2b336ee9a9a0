"""Cold start of a Lambda function, measured the same way for any runtime (scripts/bench-coldstart.sh).

A minimal Lambda Runtime API on loopback hands one event to a freshly started process (its environment's
AWS_LAMBDA_RUNTIME_API points here), and the clock runs from the spawn to the moment the response arrives: the
process's start, its initialisation (configuration, SDK clients, credentials) and the handler, with whatever calls
the handler makes. The process's peak resident memory (VmHWM in /proc/<pid>/status) is read once it has answered,
before it is stopped. Each runtime is started `--runs` times; the table gives the median and the range.

The event is the AddPipe survey client's `POST /presigned-url` (events/presign/post-presigned-url.json, a new
`{stream}_camera.webm` each run). vidpipe-presign reaches a moto server started here (S3 and DynamoDB: it checks the
key is free and records the recording and the stream's owner); the survey client's own Node.js handler
(survey-presign.js, aws-sdk v2) signs without a network call, as it does on AWS.

The runtimes take turns, one cold start each per round, so a change in the machine's speed reaches them alike.
`--baseline` adds a second vidpipe-presign binary (an older build, to compare); `--instant-aws` replaces moto with an
endpoint that answers at once (a HEAD's 404, `{}` to DynamoDB), which leaves the process's own time. The CPU column
is the process's user and system time, all threads, until it has answered and been stopped.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EVENT = ROOT / "events" / "presign" / "post-presigned-url.json"
PREFIX = "/2018-06-01/runtime"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def serve_on_loopback(handler):
    """A server of `handler` on a free loopback port, answering from a thread of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class RuntimeApi:
    """The Runtime API for one invocation at a time: `invoke` arms an event and waits for its answer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending = None
        self.answered = threading.Event()
        self.answer = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self.reply(404)
                with api.lock:
                    event, api.pending = api.pending, None
                if event is None:
                    # The process asks for its next event once it has answered: it waits here until stopped, and
                    # is gone by the time this answers.
                    time.sleep(60)
                    try:
                        return self.reply(204)
                    except (BrokenPipeError, ConnectionResetError):
                        return None
                request_id, body = event
                deadline = str(int(time.time() * 1000) + 30_000)
                self.reply(200, body, [
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", deadline),
                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                    ("Content-Type", "application/json"),
                ])

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                at = time.perf_counter()
                self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])
                kind = self.path.rsplit("/", 1)[-1]
                api.answer = (at, kind, body)
                api.answered.set()

        self.server = serve_on_loopback(Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def cold_start(self, command, env, event, log):
        """Starts `command`, hands it `event`, and answers (milliseconds from spawn to response, CPU milliseconds,
        peak RSS in KiB, the response)."""
        with self.lock:
            self.pending = (str(uuid.uuid4()), json.dumps(event).encode())
        self.answered.clear()
        start = time.perf_counter()
        process = subprocess.Popen(command, env={**env, "AWS_LAMBDA_RUNTIME_API": self.address},
                                   stdout=log, stderr=log)
        try:
            if not self.answered.wait(60):
                raise SystemExit(f"{command[0]}: no answer in 60 s (log: {log.name})")
            at, kind, body = self.answer
            peak = vm_hwm_kib(process.pid)
        finally:
            process.kill()
            _, _, usage = os.wait4(process.pid, 0)
            process.returncode = -9
        if kind != "response":
            raise SystemExit(f"{command[0]}: {kind}: {body.decode(errors='replace')}")
        cpu = (usage.ru_utime + usage.ru_stime) * 1000
        return (at - start) * 1000, cpu, peak, json.loads(body)


def vm_hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmHWM for process {pid}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(venv, log):
    """moto on a free loopback port, with the bucket and the table (as vidpipe_aws::provision makes them)."""
    import boto3

    port = free_port()
    server = subprocess.Popen([str(venv / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                              stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    for _ in range(100):
        try:
            session.client("s3", endpoint_url=endpoint).list_buckets()
            break
        except Exception:
            time.sleep(0.1)
    session.client("s3", endpoint_url=endpoint).create_bucket(Bucket="vidpipe-bench")
    key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    session.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName="vidpipe-bench", BillingMode="PAY_PER_REQUEST", KeySchema=key,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
        GlobalSecondaryIndexes=[{
            "IndexName": "by_owner", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
        }])
    return server, endpoint


class InstantAws:
    """An AWS endpoint that answers at once: 404 to S3's HEAD (the key is free), `{}` to DynamoDB's writes; like
    moto, it closes every connection."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                self.close_connection = True

            def do_HEAD(self):
                self.reply(404)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.reply(200, b"{}")

        self.server = serve_on_loopback(Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"


def survey_event():
    event = json.loads(EVENT.read_text())
    event["body"] = json.dumps({"filename": f"bench-{uuid.uuid4().hex[:12]}_camera.webm"})
    return event


def lambda_env(name, memory):
    """What Lambda sets for every runtime (lambda_runtime requires these)."""
    return {"PATH": os.environ["PATH"], "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory), "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_LAMBDA_LOG_FORMAT": "JSON", **CREDENTIALS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presign", required=True, type=Path, help="the vidpipe-presign bootstrap to start")
    parser.add_argument("--baseline", type=Path, help="another vidpipe-presign bootstrap, to compare")
    parser.add_argument("--node-dir", required=True, type=Path, help="where aws-sdk is installed (node_modules)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--instant-aws", action="store_true", help="an endpoint that answers at once, not moto")
    parser.add_argument("--work", required=True, type=Path, help="folder for the logs")
    args = parser.parse_args()
    venv = Path(sys.executable).parent
    args.work.mkdir(parents=True, exist_ok=True)
    if args.instant_aws:
        rows = run(args, InstantAws().endpoint)
    else:
        with open(args.work / "moto.log", "wb") as moto_log:
            moto, endpoint = start_moto(venv, moto_log)
            try:
                rows = run(args, endpoint)
            finally:
                moto.kill()
                moto.wait()
    print("| runtime | first response, ms: median (min-max) | CPU, ms: median | peak RSS (VmHWM), MiB: median (min-max) "
          "| runs |")
    print("|---|---|---|---|---|")
    for name, times, cpus, peaks in rows:
        print(f"| {name} | {statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f}) | "
              f"{statistics.median(cpus):.1f} | "
              f"{statistics.median(peaks) / 1024:.1f} ({min(peaks) / 1024:.1f}-{max(peaks) / 1024:.1f}) | "
              f"{len(times)} |")


def run(args, endpoint):
    here = Path(__file__).resolve().parent
    rust_env = {**lambda_env("vidpipe-presign", 256), "AWS_ENDPOINT_URL": endpoint, "S3_FORCE_PATH_STYLE": "true",
                "BUCKET": "vidpipe-bench", "TABLE_NAME": "vidpipe-bench", "KEY_PREFIX": "videos/", "AUTH_MODE": "jwt",
                # The key itself: on AWS the function reads it from Secrets Manager once, a call this run leaves out.
                "PLAYBACK_SIGNING_SECRET": uuid.uuid4().hex + uuid.uuid4().hex}
    node_env = {**lambda_env("survey-presign", 256), "HANDLER_FILE": str(here / "survey-presign.js"),
                "NODE_PATH": str(args.node_dir / "node_modules")}
    runtimes = [("vidpipe-presign (Rust, provided.al2023)", [str(args.presign)], rust_env)]
    if args.baseline:
        runtimes.append((f"baseline: {args.baseline}", [str(args.baseline)], rust_env))
    runtimes.append(("survey client's handler (Node.js, aws-sdk v2)", ["node", str(here / "bootstrap.js")], node_env))
    results = {name: ([], [], []) for name, _, _ in runtimes}
    logs = {name: open(args.work / f"{index}-{Path(command[-1]).stem}.log", "wb")
            for index, (name, command, _) in enumerate(runtimes)}
    try:
        for _ in range(args.runs):
            for name, command, env in runtimes:
                # A Runtime API of its own per process: the process before it asks for its next event right after
                # answering, and on one shared API that late request could take this run's event (it did: a run
                # waited 60 s for an event the killed process had taken).
                api = RuntimeApi()
                try:
                    ms, cpu, peak, response = api.cold_start(command, env, survey_event(), logs[name])
                finally:
                    api.server.shutdown()
                body = json.loads(response["body"])
                if response.get("statusCode") != 200 or "url" not in body:
                    raise SystemExit(f"{name}: unexpected response {response}")
                for values, value in zip(results[name], (ms, cpu, peak)):
                    values.append(value)
    finally:
        for log in logs.values():
            log.close()
    return [(name, *results[name]) for name, _, _ in runtimes]


if __name__ == "__main__":
    main()
