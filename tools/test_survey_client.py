"""The main flow with its real client: the survey page's own camera recorder, in a real browser, against the local
stack.

Chromium (Debian's, driven by Playwright through executable_path) runs the survey client's `CameraRecorder` and
`getPresignedUrl` unchanged (tools/browser/survey_client.js; only the API's base URL points at the local stack):
it records 4 s from a fake camera (solid red), signs `{stream}_camera.webm` with `POST /presigned-url` on the
presign function's URL, and uploads the WebM straight to the bucket. The screen recording then lands as AddPipe's
recording service writes it (an H.264/AAC MP4, blue, with a 440 Hz tone). The local stack is what scripts/dev.sh
runs: moto, `vidpipe local init`, every function under `cargo lambda watch` (function URLs at
`/lambda-url/{function}/...`, the functions answering CORS themselves), and `vidpipe local pump` feeding the
bucket's events to the compositor and the engine's job events to the notifier. The composite must come out at the
screen's size, with the camera's red in the bottom-right corner and the screen's sound.

A missing tool (chromium, cargo-lambda, ffmpeg, moto) fails the test with what to install; it never skips.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools" / "browser"))
import record_fixtures  # noqa: E402  (the fake devices and Chromium flags the fixtures use)

VENV_BIN = ROOT / ".venv" / "bin"
BUCKET = "vidpipe-local"
TABLE = "vidpipe-local"
PREFIX = "videos/"
# The survey client's hard-coded API base (tools/browser/survey_client.js), which a deployment points at its API.
SEED_API_BASE = "https://your-api.execute-api.us-east-1.amazonaws.com/prod"
SCREEN_SIZE = (1280, 720)
SCREEN_TONE_HZ = 440
RECORD_MS = 4000
DEADLINE_S = 300


def log(message):
    print(f"survey-client e2e: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not listen on port {port} within {seconds} s")


def require(tool, hint):
    if shutil.which(tool) is None and not Path(tool).exists():
        raise AssertionError(f"{tool} is missing: {hint}")


class SurveyPageHandler(SimpleHTTPRequestHandler):
    """Serves tools/browser, with the survey client's API base pointed at the local presign function."""

    api_base = ""

    def do_GET(self):
        if self.path.split("?")[0] == "/survey_client.js":
            body = (ROOT / "tools/browser/survey_client.js").read_text().replace(SEED_API_BASE, self.api_base)
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


class LocalStack:
    """moto, the resources, the functions under cargo lambda watch, and the queue pump; stopped in `close`."""

    def __init__(self, work, page_origin):
        self.work = work
        self.processes = []
        self.moto_port = free_port()
        self.invoke_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.moto_port}"
        self.env = dict(os.environ)
        self.env.update(self.local_env())
        self.env.update(
            PATH=f"{VENV_BIN}:{self.env.get('PATH', '')}",
            AWS_ENDPOINT_URL=self.endpoint,
            ALLOWED_ORIGINS=page_origin,
            AUTH_MODE="anonymous",
            LAMBDA_INVOKE_URL=f"http://127.0.0.1:{self.invoke_port}",
        )
        self.page_origin = page_origin

    @staticmethod
    def local_env():
        env = {}
        for line in (ROOT / "events/local.env").read_text().splitlines():
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
        return env

    def start(self, name, args):
        logfile = open(self.work / f"{name}.log", "w")
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=logfile, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append((name, process, logfile))
        return process

    def run(self, args):
        subprocess.run(args, cwd=ROOT, env=self.env, check=True)

    def up(self):
        log("building the functions and the command line")
        started = time.monotonic()
        self.run(["cargo", "build", "-q", "-p", "vidpipe-cli", "-p", "vidpipe-presign", "-p", "vidpipe-compositor",
                  "-p", "vidpipe-notifier"])
        log(f"built in {time.monotonic() - started:.0f} s; starting moto on {self.endpoint}")
        self.start("moto", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.moto_port)])
        wait_for_port(self.moto_port, 30, "moto")
        self.run([str(ROOT / "target/debug/vidpipe"), "local", "init"])
        # --disable-cors: the functions answer CORS themselves, as behind API Gateway, instead of the watch's layer.
        self.start("watch", ["cargo", "lambda", "watch", "--disable-cors", "-A", "127.0.0.1", "-P",
                             str(self.invoke_port), "--env-file", "events/local.env",
                             "--env-var", f"AWS_ENDPOINT_URL={self.endpoint}", "--env-var", "AUTH_MODE=anonymous",
                             "--env-var", f"ALLOWED_ORIGINS={self.page_origin}"])
        wait_for_port(self.invoke_port, 60, "cargo lambda watch")
        self.start("pump", [str(ROOT / "target/debug/vidpipe"), "local", "pump"])
        log(f"functions on http://127.0.0.1:{self.invoke_port} (cargo lambda watch), pump running")

    def function_url(self, function):
        return f"http://127.0.0.1:{self.invoke_port}/lambda-url/{function}"

    def close(self):
        for name, process, logfile in reversed(self.processes):
            try:
                os.killpg(process.pid, 15)
            except ProcessLookupError:
                pass
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
            logfile.close()

    def logs(self):
        return "\n".join(f"--- {name}.log (last lines)\n" + "\n".join(
            (self.work / f"{name}.log").read_text(errors="replace").splitlines()[-15:])
            for name, _, _ in self.processes)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def frame_rgb(path, seconds, size):
    """One decoded frame as raw RGB bytes."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(seconds), "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    assert len(out) == size[0] * size[1] * 3, f"frame of {len(out)} bytes"
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


class SurveyClientEndToEnd(unittest.TestCase):
    def setUp(self):
        for tool, hint in [(record_fixtures.CHROMIUM, "scripts/setup.sh installs Debian's chromium"),
                           ("ffmpeg", "scripts/setup.sh installs ffmpeg"),
                           (str(VENV_BIN / "cargo-lambda"), "scripts/setup.sh installs cargo-lambda into .venv"),
                           (str(VENV_BIN / "moto_server"), "scripts/setup.sh installs moto into .venv")]:
            require(tool, hint)
        try:
            import boto3  # noqa: F401
            from playwright.sync_api import sync_playwright  # noqa: F401
        except ImportError as e:
            raise AssertionError(f"{e}: run scripts/setup.sh (it installs .venv from requirements-dev.txt)")
        self.work = Path(tempfile.mkdtemp(prefix="survey-e2e-"))
        self.page = ThreadingHTTPServer(("127.0.0.1", 0), partial(SurveyPageHandler, directory=str(
            ROOT / "tools/browser")))
        threading.Thread(target=self.page.serve_forever, daemon=True).start()
        self.page_origin = f"http://127.0.0.1:{self.page.server_port}"
        self.stack = LocalStack(self.work, self.page_origin)
        SurveyPageHandler.api_base = self.stack.function_url("vidpipe-presign")
        try:
            self.stack.up()
        except Exception:
            self.tearDown()
            raise

    def tearDown(self):
        self.stack.close()
        self.page.shutdown()
        self.page.server_close()
        shutil.rmtree(self.work, ignore_errors=True)

    def aws(self, service):
        import boto3
        return boto3.client(service, endpoint_url=self.stack.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def record_camera_in_the_browser(self, stream):
        from playwright.sync_api import sync_playwright
        camera, mic = record_fixtures.fake_devices(self.work)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=record_fixtures.CHROMIUM,
                                        args=record_fixtures.chromium_args(camera, mic))
            try:
                page = browser.new_page()
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                s3_base = f"{self.stack.endpoint}/{BUCKET}/{PREFIX}"
                page.goto(f"{self.page_origin}/survey.html?s3_base={s3_base}")
                log(f"recording {RECORD_MS / 1000:.0f} s from the fake camera with the survey client's CameraRecorder")
                result = page.evaluate("([s, ms]) => window.recordAndUpload(s, ms)", [stream, RECORD_MS])
                self.assertEqual(errors, [], "the page raised")
            finally:
                browser.close()
        log(f"the client uploaded {result['bytes']} bytes and stored {result['url']}")
        self.assertEqual(result["url"], f"{self.stack.endpoint}/{BUCKET}/{PREFIX}{stream}_camera.webm")
        return result

    def land_screen_as_the_recording_service(self, stream):
        screen = self.work / "screen.mp4"
        w, h = SCREEN_SIZE
        ffmpeg("-f", "lavfi", "-i", f"color=c=blue:size={w}x{h}:rate=30", "-f", "lavfi", "-i",
               f"sine=frequency={SCREEN_TONE_HZ}:sample_rate=48000", "-t", "4", "-c:v", "libx264", "-preset",
               "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", str(screen))
        self.aws("s3").upload_file(str(screen), BUCKET, f"{PREFIX}{stream}.mp4",
                                   ExtraArgs={"ContentType": "video/mp4"})
        log(f"the screen recording landed at {PREFIX}{stream}.mp4")

    def wait_for_composite(self, stream):
        dynamodb = self.aws("dynamodb")
        s3 = self.aws("s3")
        deadline = time.monotonic() + DEADLINE_S
        last = None
        while time.monotonic() < deadline:
            item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"STREAM#{stream}"}, "sk": {"S": "STREAM"}},
                                     ConsistentRead=True).get("Item", {})
            status = item.get("status", {}).get("S")
            progress = item.get("progress", {}).get("N")
            if (status, progress) != last:
                log(f"stream {stream}: {status} {progress or ''}")
                last = (status, progress)
            if status == "failed":
                self.fail(f"the stream failed: {item.get('error_code', {}).get('S')}: "
                          f"{item.get('error_message', {}).get('S')}\n{self.stack.logs()}")
            if status == "ready":
                target = self.work / "composited.mp4"
                s3.download_file(BUCKET, f"{PREFIX}{stream}_composited.mp4", str(target))
                return target
            time.sleep(1)
        self.fail(f"no composite within {DEADLINE_S} s (last status {last})\n{self.stack.logs()}")

    def test_the_survey_clients_camera_and_a_screen_recording_become_the_composite(self):
        stream = f"survey-{uuid.uuid4().hex[:12]}"
        started = time.monotonic()
        self.record_camera_in_the_browser(stream)
        head = self.aws("s3").head_object(Bucket=BUCKET, Key=f"{PREFIX}{stream}_camera.webm")
        self.assertEqual(head["ContentType"], "video/webm")
        self.land_screen_as_the_recording_service(stream)
        output = self.wait_for_composite(stream)
        log(f"composite ready {time.monotonic() - started:.1f} s after the recording started")

        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
                                           str(output)], capture_output=True, check=True).stdout)
        video = next(s for s in probe["streams"] if s["codec_type"] == "video")
        self.assertEqual((video["width"], video["height"]), SCREEN_SIZE)
        self.assertTrue(any(s["codec_type"] == "audio" for s in probe["streams"]), "the composite has sound")
        # The default layout: the camera 15 % of the frame wide, bottom-right, a margin of 2 % of the width
        # (vidpipe_core::job::pip): a 640x360 camera is 192x108 at x 1062, y 586.
        frame = frame_rgb(output, 2.0, SCREEN_SIZE)
        artifacts = ROOT / "target/test-artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        ffmpeg("-ss", "2", "-i", str(output), "-frames:v", "1", str(artifacts / "survey-client-composite.png"))
        for x, y in [(1158, 640), (1070, 594), (1246, 686)]:
            self.assertTrue(close_to(pixel(frame, SCREEN_SIZE, x, y), (255, 0, 0)),
                            f"camera at ({x},{y}): {pixel(frame, SCREEN_SIZE, x, y)}")
        for x, y in [(100, 100), (1054, 640), (1158, 578), (640, 360)]:
            self.assertTrue(close_to(pixel(frame, SCREEN_SIZE, x, y), (0, 0, 255)),
                            f"screen at ({x},{y}): {pixel(frame, SCREEN_SIZE, x, y)}")
        # The screen's 440 Hz tone: loud through a narrow band-pass around it, gone around 1 kHz.
        around_tone = mean_volume_db(output, 0.5, 3.0, f"bandpass=f={SCREEN_TONE_HZ}:width_type=h:w=40,")
        elsewhere = mean_volume_db(output, 0.5, 3.0, "bandpass=f=1000:width_type=h:w=40,")
        self.assertGreater(around_tone, -35.0, "the screen's sound")
        self.assertGreater(around_tone - elsewhere, 20.0, "a tone, not noise")


if __name__ == "__main__":
    unittest.main()
