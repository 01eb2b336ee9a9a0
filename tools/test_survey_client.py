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

import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path

from local_stack import (ROOT, LocalStack, call, close_to, ffmpeg, frame_rgb, log, missing_tools, pip_rect, pixel,
                         probe, record_fixtures, start_log)

SURVEY_CLIENT = ROOT / "tools" / "browser" / "survey_client"
ARTIFACTS = ROOT / "target" / "test-artifacts" / "survey-client"
# The survey client's hard-coded API URL (survey_client/presigned-url.js), which a deployment points at its API.
CLIENT_API_URL = "https://your-api.execute-api.us-east-1.amazonaws.com/prod/presigned-url"
SCREEN_SIZE = (1280, 720)
SCREEN_FPS = 30
SCREEN_SECONDS = 4
SCREEN_TONE_HZ = 440
RECORD_MS = 4000
BLUE = (0, 0, 255)
PAGE_TIMEOUT_S = 90
COMPOSITE_TIMEOUT_S = 240


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


class SurveyClientEndToEnd(unittest.TestCase):
    def setUp(self):
        start_log("survey-client e2e")
        self.work = Path(tempfile.mkdtemp(prefix="survey-e2e-"))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def aws(self, service):
        return self.stack.aws(service)

    def keep_logs(self):
        for name in ("moto", "watch", "pump"):
            if (self.work / f"{name}.log").exists():
                shutil.copy(self.work / f"{name}.log", ARTIFACTS / f"{name}.log")

    def start_stack(self):
        self.stack = self.new_stack()
        self.addCleanup(self.keep_logs)
        self.addCleanup(self.stack.close)
        self.page = serve_survey_client(f"{self.stack.function_url('vidpipe-presign')}/presigned-url")
        self.addCleanup(self.page.server_close)
        self.addCleanup(self.page.shutdown)
        self.page_origin = f"http://127.0.0.1:{self.page.server_port}"
        log(f"the survey page on {self.page_origin}; its API: {self.stack.function_url('vidpipe-presign')}")
        self.stack.allow_origin(self.page_origin)
        self.stack.up()

    def new_stack(self):
        """The stack scripts/dev.sh runs: composites on the local MediaConvert engine."""
        return LocalStack(self.work, {"AUTH_MODE": "anonymous"})

    def check_how_it_ran(self):
        """The engine backend: one job, no chunks."""
        self.assertNotIn("job started in chunks", self.stack.logs(["watch"], 100000))

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
        self.stream = stream
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
        self.check_how_it_ran()
        log("first invocations: " + ", ".join(f"{f} {s:.1f} s" for f, s in self.stack.warmup_seconds.items())
            + f"; artifacts in {ARTIFACTS.relative_to(ROOT)}")


class SurveyClientOnTheTranscoder(SurveyClientEndToEnd):
    """The same flow on the ffmpeg backend (`TranscoderBackend=lambda`, docs/transcoder.md) with chunks of at most
    2 s: the compositor probes and submits through the watch's Lambda API, the transcoder lays the 4 s composite out
    in chunks and starts the transcode state machine on the local Step Functions endpoint, which renders the chunks
    with the transcoder beside the sound and joins them; the composite must be the same."""

    def new_stack(self):
        stack = LocalStack(self.work, {"AUTH_MODE": "anonymous"})
        stack.use_transcoder(chunk_seconds=2)
        return stack

    def check_how_it_ran(self):
        watch = self.stack.logs(["watch"], 100000)
        self.assertIn("job started in chunks", watch)
        self.assertGreaterEqual(watch.count("chunk rendered"), 2, "at least two chunks of at most 2 s")
        self.assertIn("job joined and complete", watch)
        item = self.stream_item(self.stream)
        self.assertEqual(item.get("job_kind", {}).get("S"), "composite")


if __name__ == "__main__":
    unittest.main()
