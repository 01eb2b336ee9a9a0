"""The main flow with its real client: the AddPipe survey page's own camera recorder, in a real browser, against the
local stack.

Chromium (Debian's, driven by Playwright through executable_path) runs the survey client's `CameraRecorder` and
`getPresignedUrl` unchanged (tools/browser/survey_client/: byte for byte the AddPipe survey client's code; only the API's base URL is
replaced when the file is served): it records 4 s from a fake camera (solid red), signs `{stream}_camera.webm` with
`POST /presigned-url` on the presign function's URL, and uploads the WebM straight to the bucket. The screen
recording then lands as AddPipe's recording service writes it (an H.264/AAC MP4, blue, with a 440 Hz tone). The
local stack is what scripts/dev.sh runs: moto, `vidpipe local init` (the bucket's CORS rule allows the page's
origin), every function under `cargo lambda watch` (function URLs at `/lambda-url/{function}/...`, the functions
answering CORS themselves: `--disable-cors`), and `vidpipe local pump` feeding the bucket's events to the compositor
and the engine's job events to the notifier. The composite must come out at the screen's size, with the camera's
red in the bottom-right corner and the screen's sound.

A missing tool (chromium, cargo, cargo-lambda, ffmpeg, moto, Playwright) fails the test with what to install; it
never skips. Progress goes to stderr; the composite's middle frame and the page are kept in
target/test-artifacts/survey-client/, with the logs of the stack's processes.
"""

import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools" / "browser"))
import record_fixtures  # noqa: E402  (the fake camera, Chromium and its flags, the quiet page server)

VENV_BIN = ROOT / ".venv" / "bin"
SURVEY_CLIENT = ROOT / "tools" / "browser" / "survey_client"
ARTIFACTS = ROOT / "target" / "test-artifacts" / "survey-client"
# The survey client's hard-coded API URL (survey_client/presigned-url.js), which a deployment points at its API.
CLIENT_API_URL = "https://your-api.execute-api.us-east-1.amazonaws.com/prod/presigned-url"
FUNCTIONS = ("vidpipe-presign", "vidpipe-compositor", "vidpipe-notifier")
SCREEN_SIZE = (1280, 720)
SCREEN_FPS = 30
SCREEN_SECONDS = 4
SCREEN_TONE_HZ = 440
RECORD_MS = 4000
# The default picture-in-picture layout (vidpipe_core::job::pip::PipLayout): bottom-right, 15 % of the frame
# width, 2 % of the frame width away from the edges.
PIP_WIDTH, PIP_MARGIN = 0.15, 0.02
BLUE = (0, 0, 255)
# Bounds: cargo's own build (it may wait for another build's lock), each function's first build under the watch,
# the page, and the composite.
BUILD_TIMEOUT_S = 1800
WARMUP_TIMEOUT_S = 1200
PAGE_TIMEOUT_S = 90
COMPOSITE_TIMEOUT_S = 240

STARTED = time.monotonic()


def log(message):
    print(f"survey-client e2e [{time.monotonic() - STARTED:6.1f} s]: {message}", file=sys.stderr, flush=True)


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


def missing_tools():
    """What is missing, with where it comes from; empty when everything is there."""
    missing = []
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


def mean_volume_db(path, start, seconds, filters=""):
    out = subprocess.run(["ffmpeg", "-v", "info", "-ss", str(start), "-t", str(seconds), "-i", str(path), "-map",
                          "0:a:0", "-af", f"{filters}volumedetect", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    for line in out.splitlines():
        if "mean_volume:" in line:
            return float(line.split("mean_volume:")[1].split("dB")[0])
    raise AssertionError(f"no mean_volume for {path}: {out[-500:]}")


def serve_survey_client(api_url):
    """Serves tools/browser/survey_client on a loopback port, with the client's placeholder API URL replaced by
    `api_url` in presigned-url.js (the only byte that differs from the survey client's code)."""

    class Handler(record_fixtures.QuietHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(SURVEY_CLIENT), **kwargs)

        def do_GET(self):
            if self.path.split("?")[0] != "/presigned-url.js":
                return super().do_GET()
            source = (SURVEY_CLIENT / "presigned-url.js").read_text()
            if source.count(CLIENT_API_URL) != 1:
                self.send_error(500, "presigned-url.js does not hold the survey client's API URL once")
                return
            data = source.replace(CLIENT_API_URL, api_url).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class LocalStack:
    """moto, the resources, the functions under cargo lambda watch, and the queue pump; `close` stops them all
    (each in its own process group, so cargo's children and the functions go too)."""

    def __init__(self, work):
        self.work = work
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
            AUTH_MODE="anonymous",
            LAMBDA_INVOKE_URL=self.invoke_url,
        )
        self.warmup_seconds = {}

    def allow_origin(self, origin):
        """The page's origin: the bucket's CORS rule (`vidpipe local init`) and the functions allow it."""
        self.page_origin = origin
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
        init = subprocess.run([str(ROOT / "target/debug/vidpipe"), "local", "init"], cwd=ROOT, env=self.env,
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
                             "--env-var", "AUTH_MODE=anonymous",
                             "--env-var", f"ALLOWED_ORIGINS={self.page_origin}"])
        self.wait_for_port(self.invoke_port, 60, "watch")
        log(f"cargo lambda watch on {self.invoke_url}")
        self.warm_up()
        self.start("pump", [str(ROOT / "target/debug/vidpipe"), "local", "pump"])
        log("vidpipe local pump feeds the queues to the functions")

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
        for function in FUNCTIONS:
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
                if watch.poll() is not None or "error: could not compile" in log_text:
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


class SurveyClientEndToEnd(unittest.TestCase):
    def setUp(self):
        global STARTED
        STARTED = time.monotonic()
        self.work = Path(tempfile.mkdtemp(prefix="survey-e2e-"))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def aws(self, service):
        import boto3
        return boto3.client(service, endpoint_url=self.stack.endpoint, region_name=self.stack.config["AWS_REGION"],
                            aws_access_key_id=self.stack.config["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.stack.config["AWS_SECRET_ACCESS_KEY"])

    def keep_logs(self):
        for name in ("moto", "watch", "pump"):
            if (self.work / f"{name}.log").exists():
                shutil.copy(self.work / f"{name}.log", ARTIFACTS / f"{name}.log")

    def start_stack(self):
        self.stack = LocalStack(self.work)
        self.addCleanup(self.keep_logs)
        self.addCleanup(self.stack.close)
        self.page = serve_survey_client(f"{self.stack.function_url('vidpipe-presign')}/presigned-url")
        self.addCleanup(self.page.server_close)
        self.addCleanup(self.page.shutdown)
        self.page_origin = f"http://127.0.0.1:{self.page.server_port}"
        log(f"the survey page on {self.page_origin}; its API: {self.stack.function_url('vidpipe-presign')}")
        self.stack.allow_origin(self.page_origin)
        self.stack.up()

    def record_camera_in_the_browser(self, stream):
        """The survey page's camera part, in Chromium: record, sign `{stream}_camera.webm`, upload."""
        from playwright.sync_api import sync_playwright
        camera, mic = record_fixtures.fake_devices(self.work)
        s3_base = f"{self.stack.endpoint}/{self.stack.bucket}/{self.stack.prefix}"
        console, errors, calls, failed = [], [], [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=record_fixtures.CHROMIUM,
                                        args=record_fixtures.chromium_args(camera, mic))
            try:
                page = browser.new_page()
                page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
                page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("requestfailed", lambda r: failed.append(f"{r.method} {r.url[:120]}: {r.failure}"))
                page.on("response", lambda r: calls.append(f"{r.request.method} {r.url[:120]} -> {r.status}"))
                page.goto(f"{self.page_origin}/index.html?s3_base={urllib.parse.quote(s3_base, safe='')}")
                log(f"Chromium records {RECORD_MS / 1000:.0f} s from the fake camera with the survey client's "
                    f"CameraRecorder, then signs and uploads {stream}_camera.webm")
                page.evaluate("([s, ms]) => { window.survey = window.recordAndUpload(s, ms); }", [stream, RECORD_MS])
                page.wait_for_timeout(1500)
                page.screenshot(path=str(ARTIFACTS / "page-recording.png"))
                try:
                    result = page.evaluate("() => window.survey")
                except Exception as e:
                    self.fail(f"the survey client failed: {e}\nrequests: {calls}\nfailed requests: {failed}\n"
                              f"console: {console}\n{self.stack.logs(['watch'])}")
            finally:
                browser.close()
        log("the page's requests:\n    " + "\n    ".join(calls))
        self.assertEqual(errors, [], "the page raised")
        log(f"the client uploaded {result['bytes']} bytes and stored {result['url']}")
        self.assertEqual(result["url"], f"{s3_base}{stream}_camera.webm", "the link the survey page stores")
        return result

    def check_the_bucket_refuses_other_origins(self, key):
        """The page could upload because of the bucket's CORS rule: moto answers any origin when a bucket has none."""
        status, _, _ = call("OPTIONS", f"{self.stack.endpoint}/{self.stack.bucket}/{key}", None, {
            "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(status, 403, "a preflight from another origin is refused by the bucket's CORS rule")

    def land_screen_as_the_recording_service(self, stream):
        screen = self.work / "screen.mp4"
        w, h = SCREEN_SIZE
        ffmpeg("-f", "lavfi", "-i", f"color=c=blue:size={w}x{h}:rate={SCREEN_FPS}",
               "-f", "lavfi", "-i", f"sine=frequency={SCREEN_TONE_HZ}:sample_rate=48000",
               "-t", str(SCREEN_SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-ac", "2", "-movflags", "+faststart", str(screen))
        key = f"{self.stack.prefix}{stream}.mp4"
        self.aws("s3").upload_file(str(screen), self.stack.bucket, key, ExtraArgs={"ContentType": "video/mp4"})
        log(f"the screen recording landed at s3://{self.stack.bucket}/{key}")

    def stream_through_the_api(self, stream):
        status, _, body = call("GET", f"{self.stack.function_url('vidpipe-presign')}/streams/{stream}",
                               headers={"Origin": self.page_origin})
        return status, body.decode(errors="replace")

    def stream_item(self, stream):
        return self.aws("dynamodb").get_item(
            TableName=self.stack.table, Key={"pk": {"S": f"STREAM#{stream}"}, "sk": {"S": "STREAM"}},
            ConsistentRead=True).get("Item", {})

    def wait_for_composite(self, stream):
        """Polls the stream until it is ready (its output downloaded) or failed (the test fails with the reason)."""
        status, body = self.stream_through_the_api(stream)
        log(f"GET /streams/{stream} answers {status} {body} (anonymous mode reads nothing): "
            "following the stream's item in DynamoDB")
        deadline = time.monotonic() + COMPOSITE_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            item = self.stream_item(stream)
            field = lambda name: next(iter(item.get(name, {}).values()), None)  # noqa: E731
            now = (field("status"), field("progress"), field("job_kind"))
            if now != last:
                log(f"stream {stream}: status {now[0]}, progress {now[1]}, job {now[2]}")
                last = now
            if now[0] == "failed":
                self.fail(f"the stream failed: {field('error_code')}: {field('error_message')}\n"
                          f"{self.stack.logs(['watch', 'pump'])}")
            if now[0] == "ready":
                key = f"{self.stack.prefix}{stream}_composited.mp4"
                self.assertEqual(field("output_key"), key)
                target = self.work / "composited.mp4"
                self.aws("s3").download_file(self.stack.bucket, key, str(target))
                return target
            time.sleep(1)
        self.fail(f"no composite within {COMPOSITE_TIMEOUT_S} s (last: {last})\n{self.stack.logs()}")

    def check_the_composite(self, output):
        info = probe(output)
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        self.assertEqual((video["width"], video["height"]), SCREEN_SIZE, "the screen's size")
        self.assertTrue(any(s["codec_type"] == "audio" for s in info["streams"]), "the composite has sound")
        duration = float(info["format"]["duration"])
        log(f"the composite: {video['width']}x{video['height']} {video['codec_name']}, {duration:.2f} s")

        middle = duration / 2
        frame = frame_rgb(output, middle, SCREEN_SIZE)
        ffmpeg("-ss", f"{middle:.3f}", "-i", str(output), "-frames:v", "1", str(ARTIFACTS / "composite-middle.png"))
        x, y, w, h = pip_rect(SCREEN_SIZE, tuple(record_fixtures.CAMERA_SIZE))
        inset = 6
        inside = [(x + w // 2, y + h // 2), (x + inset, y + inset), (x + w - inset, y + h - inset),
                  (x + inset, y + h - inset), (x + w - inset, y + inset)]
        outside = [(100, 100), (SCREEN_SIZE[0] // 2, SCREEN_SIZE[1] // 2), (x - inset - 2, y + h // 2),
                   (x + w // 2, y - inset - 2), (x + w + 10, y + h // 2), (x + w // 2, y + h + 10)]
        red = tuple(record_fixtures.CAMERA_COLOUR)
        for px, py in inside:
            self.assertTrue(close_to(pixel(frame, SCREEN_SIZE, px, py), red),
                            f"the camera at ({px},{py}) of {(x, y, w, h)}: {pixel(frame, SCREEN_SIZE, px, py)}")
        for px, py in outside:
            self.assertTrue(close_to(pixel(frame, SCREEN_SIZE, px, py), BLUE),
                            f"the screen at ({px},{py}): {pixel(frame, SCREEN_SIZE, px, py)}")
        log(f"frame at {middle:.2f} s: the camera's red fills {w}x{h} at ({x},{y}), the screen's blue around it")

        # The screen's 440 Hz tone: loud through a narrow band-pass around it, quiet around 1 kHz.
        start, length = 0.5, max(1.0, duration - 1.0)
        overall = mean_volume_db(output, start, length)
        around_tone = mean_volume_db(output, start, length, f"bandpass=f={SCREEN_TONE_HZ}:width_type=h:w=40,")
        elsewhere = mean_volume_db(output, start, length, "bandpass=f=1000:width_type=h:w=40,")
        log(f"sound: {overall:.1f} dB overall, {around_tone:.1f} dB around {SCREEN_TONE_HZ} Hz, "
            f"{elsewhere:.1f} dB around 1 kHz")
        self.assertGreater(overall, -40.0, "the screen's sound, well above silence")
        self.assertGreater(around_tone, -35.0, f"the screen's {SCREEN_TONE_HZ} Hz tone")
        self.assertGreater(around_tone - elsewhere, 20.0, "a tone, not noise")

    def test_the_survey_clients_camera_and_a_screen_recording_become_the_composite(self):
        missing = missing_tools()
        if missing:
            self.fail("the survey-client test needs:\n  " + "\n  ".join(missing))
        self.start_stack()
        stream = f"survey-{uuid.uuid4().hex[:12]}"
        started = time.monotonic()
        result = self.record_camera_in_the_browser(stream)
        camera_key = f"{self.stack.prefix}{stream}_camera.webm"
        head = self.aws("s3").head_object(Bucket=self.stack.bucket, Key=camera_key)
        self.assertEqual((head["ContentType"], head["ContentLength"]), ("video/webm", result["bytes"]))
        self.check_the_bucket_refuses_other_origins(camera_key)
        self.land_screen_as_the_recording_service(stream)
        output = self.wait_for_composite(stream)
        log(f"composite ready {time.monotonic() - started:.1f} s after the recording started")
        self.check_the_composite(output)
        log("first invocations: " + ", ".join(f"{f} {s:.1f} s" for f, s in self.stack.warmup_seconds.items())
            + f"; artifacts in {ARTIFACTS.relative_to(ROOT)}")


if __name__ == "__main__":
    unittest.main()
