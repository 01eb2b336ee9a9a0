"""The local stack the browser tests run against, as scripts/dev.sh runs it, and what those tests share.

`LocalStack` starts moto, creates the resources (`vidpipe local init`), serves every function under `cargo lambda
watch` (function URLs at `/lambda-url/{function}/...`; the functions answer CORS themselves: `--disable-cors`),
warms each function up, and feeds the queues to them (`vidpipe local pump`). Each process runs in its own process
group, so `close` stops cargo's children and the functions too. The helpers read media back: ffprobe, a decoded
frame's pixels, and where the default picture-in-picture layout puts the camera.
"""

import concurrent.futures
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools" / "browser"))
import record_fixtures  # noqa: E402  (Chromium's path)

VENV_BIN = ROOT / ".venv" / "bin"
# Where cargo puts it: CARGO_TARGET_DIR when set, as cargo reads it.
VIDPIPE = ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "debug" / "vidpipe"
# hls.js (npm ci): the playback test's player (hls.min.js), the console's preview players (hls.min.mjs).
HLS_JS_DIST = ROOT / "node_modules" / "hls.js" / "dist"
FUNCTIONS = ("vidpipe-presign", "vidpipe-compositor", "vidpipe-notifier")
# The render flow's tasks, which the local Step Functions endpoint invokes.
RENDER_FUNCTIONS = ("vidpipe-chunker", "vidpipe-job-builder", "vidpipe-assembler")
# The ffmpeg backend (LocalStack.use_transcoder), which refuses an empty invocation as the render tasks do.
TRANSCODER = "vidpipe-transcoder"
# The default picture-in-picture layout (vidpipe_core::job::pip::PipLayout): bottom-right, 15 % of the frame
# width, 2 % of the frame width away from the edges.
PIP_WIDTH, PIP_MARGIN = 0.15, 0.02
# Bounds: cargo's own build (it may wait for another build's lock) and each function's first build under the watch.
BUILD_TIMEOUT_S = 1800
WARMUP_TIMEOUT_S = 1200

_log = {"label": "local stack", "started": time.monotonic()}


def start_log(label):
    """Names the test whose progress `log` reports, and starts its clock."""
    _log.update(label=label, started=time.monotonic())


def log(message):
    print(f"{_log['label']} [{time.monotonic() - _log['started']:6.1f} s]: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_env():
    """events/local.env as a dict (what `cargo lambda watch --env-file` reads)."""
    env = {}
    for line in (ROOT / "events" / "local.env").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


def call(method, url, body=None, headers=None, timeout=30):
    """(status, headers, body bytes) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def missing_tools(hls_js=False):
    """What is missing, with where it comes from; empty when everything is there. `hls_js`: the test plays HLS in
    the browser."""
    missing = []
    for name in ("hls.min.js", "hls.min.mjs") if hls_js else ():
        if not (HLS_JS_DIST / name).is_file():
            missing.append(f"{(HLS_JS_DIST / name).relative_to(ROOT)}: hls.js (scripts/setup.sh runs npm ci)")
    for tool, hint in [
        (record_fixtures.CHROMIUM, "Debian's chromium (scripts/setup.sh installs it; VIDPIPE_CHROMIUM names another)"),
        ("ffmpeg", "ffmpeg (scripts/setup.sh installs it)"),
        ("ffprobe", "ffprobe (scripts/setup.sh installs ffmpeg)"),
        ("cargo", "Rust's cargo (rustup)"),
        (str(VENV_BIN / "cargo-lambda"), "cargo-lambda in .venv (scripts/setup.sh installs it)"),
        (str(VENV_BIN / "moto_server"), "moto's server in .venv (scripts/setup.sh installs it)"),
    ]:
        if shutil.which(tool) is None:
            missing.append(f"{tool}: {hint}")
    for module in ("boto3", "playwright.sync_api"):
        try:
            __import__(module)
        except ImportError as e:
            missing.append(f"Python module {module} ({e}): run scripts/setup.sh (it installs .venv)")
    return missing


def pip_rect(frame, source, width_fraction=PIP_WIDTH, margin_fraction=PIP_MARGIN):
    """Where the default layout puts the camera: vidpipe_core::job::pip::place for the bottom-right corner."""
    even_floor = lambda n: int(n) & ~1  # noqa: E731
    even_round = lambda v: max(0, round(v / 2)) * 2  # noqa: E731
    (fw, fh), (sw, sh) = frame, source
    margin = even_floor(round(fw * margin_fraction))
    room_w = max(even_floor(fw - 2 * margin), 2)
    room_h = max(even_floor(fh - 2 * margin), 2)
    margin_x = even_floor(min(margin, (fw - room_w) // 2))
    margin_y = even_floor(min(margin, (fh - room_h) // 2))
    aspect = sh / sw
    width = min(max(even_round(fw * width_fraction), 2), room_w)
    height = max(even_round(width * aspect), 2)
    if height > room_h:
        height = room_h
        width = min(max(even_round(height / aspect), 2), width)
    return even_floor(fw - margin_x - width), even_floor(fh - margin_y - height), width, height


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
                          str(path)], capture_output=True, check=True).stdout
    return json.loads(out)


def frame_rgb(path, seconds, size):
    """The frame shown at `seconds`, decoded, as raw RGB bytes."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    if len(out) != size[0] * size[1] * 3:
        raise AssertionError(f"the frame at {seconds:.2f} s decoded to {len(out)} bytes, not {size[0]}x{size[1]} RGB")
    return out


def pixel(frame, size, x, y):
    i = (y * size[0] + x) * 3
    return tuple(frame[i:i + 3])


def close_to(actual, expected, tolerance=60):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))



class LocalStack:
    """moto, the resources, the functions under cargo lambda watch, and the queue pump; `close` stops them all
    (each in its own process group, so cargo's children and the functions go too)."""

    def __init__(self, work, settings, renders=False):
        """`settings`: the functions' variables beyond events/local.env (AUTH_MODE and its secret, limits).
        `renders`: also serve the render flow (`vidpipe local stepfunctions` on a free port, the functions reaching
        it through AWS_ENDPOINT_URL_SFN) and warm up its tasks."""
        self.work = work
        self.renders = renders
        self.page_origin = None
        self.processes = []
        self.moto_port = free_port()
        self.invoke_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.moto_port}"
        self.invoke_url = f"http://127.0.0.1:{self.invoke_port}"
        self.config = local_env()
        self.env = dict(os.environ)
        self.env.update(self.config)
        self.env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{self.env.get('PATH', '')}",
            AWS_ENDPOINT_URL=self.endpoint,
            LAMBDA_INVOKE_URL=self.invoke_url,
        )
        # The stack's own GET /play key (scripts/dev.sh keeps one in .local/); `play_query` signs with it.
        self.settings = {"PLAYBACK_SIGNING_SECRET": secrets.token_hex(32), **settings}
        self.sfn_port = None
        if renders:
            self.serve_step_functions()
        self.env.update(self.settings)
        self.warmup_seconds = {}
        self.transcoder = False

    def serve_step_functions(self):
        """`vidpipe local stepfunctions` on a free port, the functions reaching it through AWS_ENDPOINT_URL_SFN."""
        if self.sfn_port is None:
            self.sfn_port = free_port()
            self.settings["AWS_ENDPOINT_URL_SFN"] = f"http://127.0.0.1:{self.sfn_port}"

    def use_transcoder(self, chunk_seconds):
        """Composites on the ffmpeg backend (`TranscoderBackend=lambda`): the compositor invokes vidpipe-transcoder
        through the watch's Lambda API, and a job longer than `chunk_seconds` runs in chunks on the transcode state
        machine, served by the local Step Functions endpoint. The watch gives every function the same variables, and
        the template sets MEDIACONVERT_BACKEND on the compositor only: the chunker reads it as its own probe backend
        (mediaconvert or engine), so such a stack serves no render flow."""
        assert not self.renders, "the render flow's chunker reads MEDIACONVERT_BACKEND as its own"
        self.transcoder = True
        self.serve_step_functions()
        self.settings.update(MEDIACONVERT_BACKEND="lambda", TRANSCODER_FUNCTION="vidpipe-transcoder",
                             AWS_ENDPOINT_URL_LAMBDA=self.invoke_url, TRANSCODE_CHUNK_SECONDS=str(chunk_seconds))
        self.env.update(self.settings)

    def allow_origin(self, origin):
        """The page's origin: the bucket's CORS rule (`vidpipe local init`) and the functions allow it."""
        self.page_origin = origin
        self.settings["ALLOWED_ORIGINS"] = origin
        self.env["ALLOWED_ORIGINS"] = origin

    @property
    def bucket(self):
        return self.config["BUCKET"]

    @property
    def table(self):
        return self.config["TABLE_NAME"]

    @property
    def prefix(self):
        return self.config.get("KEY_PREFIX", "")

    def aws(self, service):
        """A boto3 client of `service` on the stack's moto."""
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.config["AWS_REGION"],
                            aws_access_key_id=self.config["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.config["AWS_SECRET_ACCESS_KEY"])

    def token(self, sub):
        """A development token for `sub` from `vidpipe local token`, as a developer gets one (the stack's
        JWT_SECRET, AUTH_MODE=hs256)."""
        out = subprocess.run([str(VIDPIPE), "local", "token", "--sub", sub], env=self.env, capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()

    def play_query(self, asset, expires):
        """The `expires=...&sig=...` of a `GET /play` URL of `asset` (`recording/{id}`), signed with the stack's
        key: the rule of `vidpipe_core::play_url`, written again here so a test can make a URL the API would not
        (an expired one) and check the API's own URLs against it."""
        import hashlib
        import hmac
        key = self.settings["PLAYBACK_SIGNING_SECRET"].encode()
        tag = hmac.new(key, f"vidpipe-play\n{asset}\n{expires}".encode(), hashlib.sha256).hexdigest()
        return f"expires={expires}&sig={tag}"

    def function_url(self, function):
        return f"{self.invoke_url}/lambda-url/{function}"

    def start(self, name, args):
        logfile = open(self.work / f"{name}.log", "w")
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=logfile, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append((name, process, logfile))
        return process

    def wait_for_port(self, port, seconds, name):
        deadline = time.monotonic() + seconds
        process = next(p for n, p, _ in self.processes if n == name)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}\n{self.logs([name])}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{name} did not listen on port {port} within {seconds} s\n{self.logs([name])}")

    def up(self):
        log("building the command line (cargo build -p vidpipe-cli)")
        started = time.monotonic()
        build = subprocess.run(["cargo", "build", "--quiet", "-p", "vidpipe-cli"], cwd=ROOT, env=self.env,
                               timeout=BUILD_TIMEOUT_S)
        if build.returncode != 0:
            raise AssertionError("cargo build -p vidpipe-cli failed (its output is above)")
        log(f"built in {time.monotonic() - started:.1f} s; moto on {self.endpoint}")
        self.start("moto", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.moto_port)])
        self.wait_for_port(self.moto_port, 30, "moto")
        init = subprocess.run([str(VIDPIPE), "local", "init"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)
        if init.returncode != 0:
            raise AssertionError(f"vidpipe local init failed: {init.stderr}")
        log(f"vidpipe local init: {init.stdout.strip()}")
        # --ignore-changes: an edit made while the test runs must not restart a function mid-composite.
        # --disable-cors: the functions answer CORS themselves (ALLOWED_ORIGINS), as behind API Gateway; the watch's
        # own layer would answer every preflight itself and allow any origin.
        # --features local: the compositor's engine and in-process timer (events/local.env), as in scripts/dev.sh.
        self.start("watch", ["cargo", "lambda", "watch", "--ignore-changes", "--disable-cors", "--features", "local",
                             "-A", "127.0.0.1", "-P", str(self.invoke_port),
                             "--env-file", "events/local.env",
                             "--env-var", f"AWS_ENDPOINT_URL={self.endpoint}",
                             *[arg for name, value in self.settings.items()
                               for arg in ("--env-var", f"{name}={value}")]])
        self.wait_for_port(self.invoke_port, 60, "watch")
        log(f"cargo lambda watch on {self.invoke_url}")
        self.warm_up()
        self.start("pump", [str(VIDPIPE), "local", "pump"])
        log("vidpipe local pump feeds the queues to the functions")
        if self.sfn_port is not None:
            self.start("stepfunctions", [str(VIDPIPE), "local", "stepfunctions",
                                         "--listen", f"127.0.0.1:{self.sfn_port}"])
            self.wait_for_port(self.sfn_port, 30, "stepfunctions")
            log(f"vidpipe local stepfunctions on {self.settings['AWS_ENDPOINT_URL_SFN']}")

    def invoke(self, function, payload):
        status, _, body = call("POST", f"{self.invoke_url}/2015-03-31/functions/{function}/invocations",
                               json.dumps(payload).encode(), {"Content-Type": "application/json"},
                               timeout=WARMUP_TIMEOUT_S)
        return status, body.decode(errors="replace")

    def warm_up(self):
        """Each function's first invocation: the watch builds the function (`cargo run --bin ...`) and starts it.
        Every call here has no effect on the stack, and checks that the function answers as it should."""
        checks = {
            # A preflight from the page's origin, answered by presign's own CORS policy (the watch's is off).
            "vidpipe-presign": lambda: call(
                "OPTIONS", f"{self.function_url('vidpipe-presign')}/presigned-url", None,
                {"Origin": self.page_origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}, timeout=WARMUP_TIMEOUT_S),
            # S3's test event: ignored.
            "vidpipe-compositor": lambda: self.invoke("vidpipe-compositor", {
                "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-01-01T00:00:00.000Z",
                "Bucket": self.bucket, "RequestId": "warm-up", "HostId": "warm-up"}),
            # An event that is no job state change: rejected and acknowledged.
            "vidpipe-notifier": lambda: self.invoke("vidpipe-notifier", {
                "source": "vidpipe.warm-up", "detail-type": "warm-up", "detail": {}}),
        }
        # The render tasks refuse an empty input: a function error, which the watch answers with 500 and the
        # function's own `errorType` (a build or start failure has none).
        checks.update({function: (lambda f=function: self.invoke(f, {}))
                       for function in RENDER_FUNCTIONS + (TRANSCODER,)})
        tasks = (RENDER_FUNCTIONS if self.renders else ()) + ((TRANSCODER,) if self.transcoder else ())
        for function in FUNCTIONS + tasks:
            log(f"{function}: first invocation (the watch builds and starts it)")
            started = time.monotonic()
            answer = self.while_building(function, checks[function])
            self.warmup_seconds[function] = time.monotonic() - started
            log(f"{function}: up after {self.warmup_seconds[function]:.1f} s")
            if function == "vidpipe-presign":
                status, headers, body = answer
                if status != 204 or headers.get("Access-Control-Allow-Origin") != self.page_origin:
                    raise AssertionError(f"presign's preflight answered {status} {dict(headers)} {body!r}\n"
                                         f"{self.logs(['watch'])}")
            elif function in tasks:
                if '"errorType"' not in answer[1]:
                    raise AssertionError(f"{function} answered {answer}\n{self.logs(['watch'])}")
            elif answer[0] != 200:
                raise AssertionError(f"{function} answered {answer}\n{self.logs(['watch'])}")

    def while_building(self, function, first_call):
        """`first_call`'s answer; fails at once when the build fails or the watch stops, and says what it waits for."""
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(first_call)
            started = time.monotonic()
            report_at = 30
            while True:
                try:
                    return answer.result(timeout=1)
                except concurrent.futures.TimeoutError:
                    pass
                waited = time.monotonic() - started
                watch = next(p for n, p, _ in self.processes if n == "watch")
                log_text = (self.work / "watch.log").read_text(errors="replace")
                # A function that stops at start-up (a configuration it refuses) leaves the watch waiting for it.
                started_at = log_text.rfind(f'starting lambda function instance function="{function}"')
                exited = started_at >= 0 and "ERROR command exited" in log_text[started_at:]
                if watch.poll() is not None or "error: could not compile" in log_text or exited:
                    self.close()  # ends the pending call
                    raise AssertionError(f"cargo lambda watch could not start {function}\n{self.logs(['watch'], 60)}")
                if waited > WARMUP_TIMEOUT_S:
                    self.close()
                    raise AssertionError(f"{function} did not answer within {WARMUP_TIMEOUT_S} s\n"
                                         f"{self.logs(['watch'])}")
                if waited >= report_at:
                    log(f"{function}: still building after {report_at} s")
                    report_at += 30

    def close(self):
        for name, process, logfile in reversed(self.processes):
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            logfile.close()
        self.processes.clear()

    def logs(self, names=None, lines=25):
        parts = []
        for name in names or [n for n, _, _ in self.processes]:
            path = self.work / f"{name}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {name}.log (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts)
