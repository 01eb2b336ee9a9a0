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
                    # The process asks for its next event once it has answered: it waits here until stopped.
                    time.sleep(60)
                    return self.reply(204)
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def cold_start(self, command, env, event, log):
        """Starts `command`, hands it `event`, and answers (milliseconds from spawn to response, peak RSS in KiB,
        the response)."""
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
            process.wait()
        if kind != "response":
            raise SystemExit(f"{command[0]}: {kind}: {body.decode(errors='replace')}")
        return (at - start) * 1000, peak, json.loads(body)


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
    parser.add_argument("--node-dir", required=True, type=Path, help="where aws-sdk is installed (node_modules)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", required=True, type=Path, help="folder for the logs")
    args = parser.parse_args()
    venv = Path(sys.executable).parent
    args.work.mkdir(parents=True, exist_ok=True)
    with open(args.work / "moto.log", "wb") as moto_log:
        moto, endpoint = start_moto(venv, moto_log)
        try:
            rows = run(args, endpoint)
        finally:
            moto.kill()
            moto.wait()
    print("| runtime | first response, ms: median (min-max) | peak RSS (VmHWM), MiB: median (min-max) | runs |")
    print("|---|---|---|---|")
    for name, times, peaks in rows:
        print(f"| {name} | {statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f}) | "
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
    runtimes = [
        ("vidpipe-presign (Rust, provided.al2023)", [str(args.presign)], rust_env),
        ("survey client's handler (Node.js, aws-sdk v2)", ["node", str(here / "bootstrap.js")], node_env),
    ]
    rows = []
    for name, command, env in runtimes:
        times, peaks = [], []
        with open(args.work / f"{Path(command[-1]).stem}.log", "wb") as log:
            for _ in range(args.runs):
                # A Runtime API of its own per process: the process before it asks for its next event right after
                # answering, and on one shared API that late request could take this run's event (it did: a run
                # waited 60 s for an event the killed process had taken).
                api = RuntimeApi()
                try:
                    ms, peak, response = api.cold_start(command, env, survey_event(), log)
                finally:
                    api.server.shutdown()
                body = json.loads(response["body"])
                if response.get("statusCode") != 200 or "url" not in body:
                    raise SystemExit(f"{name}: unexpected response {response}")
                times.append(ms)
                peaks.append(peak)
        rows.append((name, times, peaks))
    return rows


if __name__ == "__main__":
    main()
