"""The recorder and console (web/) in a real browser, and `vidpipe demo`, against the local stack.

One stack for the class, as scripts/dev.sh runs it (tools/local_stack.py), with the presign function under
`AUTH_MODE=hs256` and a secret made for the run; web/ is served as it is on a loopback port, and the page signs in
with a token from `vidpipe local token` and calls the presign function's URL. Debian's Chromium (Playwright,
executable_path) has fake devices: the camera is solid red, the microphone a tone, and `getDisplayMedia` gives
Chromium's synthetic screen (--use-fake-ui-for-media-stream picks it without a prompt).

- The page records 5 s of screen and camera, uploads both (the first PUT to the bucket fails once and is retried),
  shows 100 %, follows the stream to `ready` and plays the composite, whose picture has the camera's red in the
  bottom-right corner; the page at `ready` is kept as target/test-artifacts/web-console/page-ready.png.
- A file over the multipart threshold goes up in parts; a part that fails is tried again, and once the page gives
  up, Retry resumes the upload with the parts not yet sent; the object is whole.
- The render form posts a request naming the user's uploaded still; its progress bar only moves forward, to 100,
  and the page links the video, whose frames are the still's colour.
- An expired token brings the sign-in form with a message.
- `vidpipe demo` ends with the composite's path and exit code 0.
- On the ffmpeg backend (`TranscoderBackend=lambda`, a stack of its own), the composite of a 5 s recording runs in
  chunks of at most 2 s, and the page's composite bar climbs with them: it shows a share between 0 and 100 while
  the chunks are rendered, never goes back, and reaches 100 with the composite, which plays.

A missing tool fails the test with what to install; it never skips.
"""

import base64
import hashlib
import hmac
import json
import secrets
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

from local_stack import (ROOT, VIDPIPE, LocalStack, close_to, frame_rgb, log, missing_tools, pip_rect, pixel, probe,
                         record_fixtures, start_log)

ARTIFACTS = ROOT / "target" / "test-artifacts" / "web-console"
RECORD_MS = 5000
MIB = 1024 * 1024
# The smallest threshold and part size the API accepts (S3's smallest part), so a 6 MiB file makes two parts.
PART_SIZE = 5 * MIB
PAGE_TIMEOUT_S = 90
COMPOSITE_TIMEOUT_S = 240
RED = tuple(record_fixtures.CAMERA_COLOUR)


def hs256_token(secret, claims):
    """A JWT signed with `secret`, for claims `vidpipe local token` would not sign (an `exp` in the past)."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def assert_camera_in_the_corner(test, path):
    """The composite at `path` has the screen's size and, mid-way, the camera's red filling the bottom-right
    picture-in-picture rectangle (the default layout) and not the frame's middle."""
    info = probe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    size = (video["width"], video["height"])
    duration = float(info["format"]["duration"])
    frame = frame_rgb(path, duration / 2, size)
    x, y, w, h = pip_rect(size, tuple(record_fixtures.CAMERA_SIZE))
    inset = 6
    for px, py in [(x + w // 2, y + h // 2), (x + inset, y + inset), (x + w - inset, y + h - inset)]:
        test.assertTrue(close_to(pixel(frame, size, px, py), RED),
                        f"the camera's red at ({px},{py}) of {(x, y, w, h)}: {pixel(frame, size, px, py)}")
    for px, py in [(size[0] // 2, size[1] // 2), (x - 20, y + h // 2), (x + w // 2, y - 20)]:
        test.assertFalse(close_to(pixel(frame, size, px, py), RED),
                         f"the screen, not the camera, at ({px},{py}): {pixel(frame, size, px, py)}")
    log(f"{path.name}: {size[0]}x{size[1]}, {duration:.2f} s, the camera's red at {(x, y, w, h)}")
    return duration


class ConsoleOnTheLocalStack(unittest.TestCase):
    """The page in Chromium against a local stack of the class's own (`new_stack`); no tests of its own."""

    artifacts = ARTIFACTS

    @classmethod
    def new_stack(cls, settings):
        return LocalStack(cls.work, settings, renders=True)

    @classmethod
    def setUpClass(cls):
        start_log(f"web console e2e: {cls.__name__}")
        missing = missing_tools()
        if missing:
            raise AssertionError("the web console test needs:\n  " + "\n  ".join(missing))
        cls.work = Path(tempfile.mkdtemp(prefix="web-e2e-"))
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.artifacts.mkdir(parents=True, exist_ok=True)
        cls.secret = secrets.token_hex(32)
        cls.stack = cls.new_stack({"AUTH_MODE": "hs256", "JWT_SECRET": cls.secret,
                                   "MULTIPART_THRESHOLD": str(PART_SIZE), "MULTIPART_PART_SIZE": str(PART_SIZE)})
        cls.addClassCleanup(cls.keep_logs)
        cls.addClassCleanup(cls.stack.close)
        cls.site = record_fixtures.serve(ROOT / "web")
        cls.addClassCleanup(cls.site.server_close)
        cls.addClassCleanup(cls.site.shutdown)
        cls.origin = f"http://127.0.0.1:{cls.site.server_port}"
        cls.api = cls.stack.function_url("vidpipe-presign")
        cls.stack.allow_origin(cls.origin)
        cls.stack.up()
        log(f"the page on {cls.origin}; its API: {cls.api}")

        from playwright.sync_api import sync_playwright
        camera, mic = record_fixtures.fake_devices(cls.work)
        cls.playwright = sync_playwright().start()
        cls.addClassCleanup(cls.playwright.stop)
        cls.browser = cls.playwright.chromium.launch(executable_path=record_fixtures.CHROMIUM,
                                                     args=record_fixtures.chromium_args(camera, mic))
        cls.addClassCleanup(cls.browser.close)

    @classmethod
    def keep_logs(cls):
        for name in ("moto", "watch", "pump", "stepfunctions"):
            if (cls.work / f"{name}.log").exists():
                shutil.copy(cls.work / f"{name}.log", cls.artifacts / f"{name}.log")

    def token(self, sub):
        return self.stack.token(sub)

    def open_page(self, token):
        """The page signed in with `token` (from the URL's fragment, as scripts/dev.sh prints it)."""
        page = self.browser.new_page()
        self.addCleanup(page.close)
        page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        self.errors = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(f"{self.origin}/index.html?api={urllib.parse.quote(self.api, safe='')}"
                  f"#token={urllib.parse.quote(token)}")
        return page

    def abort_bucket_requests(self, page, is_target, times):
        """Aborts the first `times` requests to the bucket that `is_target(request)` picks, as a dropped connection
        would; the list it returns names what was aborted."""
        aborted = []

        def handle(route):
            if len(aborted) < times and is_target(route.request):
                aborted.append(f"{route.request.method} {route.request.url.split('?')[0]}")
                route.abort("failed")
            else:
                route.continue_()
        page.route(f"{self.stack.endpoint}/**", handle)
        return aborted

    def upload_rows(self, page, state, count):
        """The upload rows' data once `count` of them are in `state`; fails with what each row says otherwise."""
        rows_js = "rows => rows.map(r => ({...r.dataset, text: r.textContent.replace(/\\s+/g, ' ').trim()}))"
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        while time.monotonic() < deadline:
            rows = page.eval_on_selector_all("#uploads li", rows_js)
            if sum(r.get("state") == state for r in rows) >= count:
                return rows
            time.sleep(0.2)
        self.fail(f"no {count} upload(s) {state} within {PAGE_TIMEOUT_S} s: {rows}\n{self.stack.logs(['watch'])}")

    def record_and_upload(self, page):
        """Records RECORD_MS of screen and camera on the page and waits for both uploads; their rows."""
        page.click("#record")
        page.wait_for_selector("#stop:enabled")
        page.wait_for_timeout(RECORD_MS)
        page.click("#stop")
        log(f"recorded {RECORD_MS / 1000:.0f} s; uploading")
        rows = self.upload_rows(page, "uploaded", 2)
        log(f"uploads: {rows}")
        self.assertEqual(len(rows), 2, "the screen and the camera")
        self.assertEqual([r["percent"] for r in rows], ["100", "100"], "progress reaches 100 %")
        return rows

    def follow_composite(self, page):
        """What the page says of the stream, and its composite bar's values (read every 0.1 s), until the stream is
        ready or failed; asserts it is ready, the bar never went back and ends at 100, and the player plays."""
        seen, values = [], []
        deadline = time.monotonic() + COMPOSITE_TIMEOUT_S
        while time.monotonic() < deadline:
            values.append(float(page.get_attribute("#stream-progress", "value") or 0))
            text = page.text_content("#stream-status")
            if not seen or seen[-1] != text:
                seen.append(text)
                log(f"page: {text}")
            if page.get_attribute("#stream-status", "data-status") in ("ready", "failed"):
                break
            page.wait_for_timeout(100)
        self.assertEqual(page.get_attribute("#stream-status", "data-status"), "ready", f"the page said: {seen}")
        values.append(float(page.get_attribute("#stream-progress", "value")))
        self.assertEqual(values, sorted(values), "the composite bar only moves forward")
        self.assertEqual(values[-1], 100)
        page.wait_for_function("() => { const v = document.getElementById('player');"
                               " return v.readyState >= 2 && v.videoWidth > 0; }")
        return seen, values


class WebConsoleEndToEnd(ConsoleOnTheLocalStack):
    def test_the_page_records_uploads_and_plays_the_composite(self):
        page = self.open_page(self.token("web-recorder"))
        page.wait_for_selector("#console", state="visible")
        aborted = self.abort_bucket_requests(page, lambda r: r.method == "PUT", times=1)
        started = time.monotonic()
        rows = self.record_and_upload(page)
        self.assertEqual(len(aborted), 1, "one PUT was made to fail")
        self.assertEqual(sum(int(r.get("retries", "0")) for r in rows), 1, "and it was tried again")
        self.follow_composite(page)
        # The page lists the stream, ready, once its composite is.
        page.wait_for_function("() => document.getElementById('streams').textContent.includes(': ready')")
        page.screenshot(path=str(ARTIFACTS / "page-ready.png"), full_page=True)
        width = page.evaluate("document.getElementById('player').videoWidth")
        log(f"ready {time.monotonic() - started:.1f} s after the recording started; the player plays {width} px wide")
        self.assertEqual(self.errors, [], "the page raised")

        composite = self.work / "page-composite.mp4"
        with urllib.request.urlopen(page.get_attribute("#player", "src"), timeout=30) as response:
            composite.write_bytes(response.read())
        assert_camera_in_the_corner(self, composite)

    def test_a_large_file_goes_up_in_parts_and_resumes_after_a_part_fails(self):
        page = self.open_page(self.token("web-files"))
        page.wait_for_selector("#console", state="visible")
        # Part 2 fails as often as the page tries it on its own (web/app.js: PUT_ATTEMPTS), then the upload waits
        # for Retry, which resumes it: part 1 is not sent again, part 2 is, and the upload is completed.
        attempts = 3
        aborted = self.abort_bucket_requests(page, lambda r: r.method == "PUT" and "partNumber=2" in r.url, times=attempts)
        size = PART_SIZE + MIB
        page.set_input_files("#file", files=[{"name": "large.webm", "mimeType": "video/webm",
                                              "buffer": secrets.token_bytes(size)}])
        page.click("#file-form button[type=submit]")
        [row] = self.upload_rows(page, "failed", 1)
        self.assertEqual(len(aborted), attempts, f"part 2 failed each time: {aborted}")
        self.assertEqual(row["retries"], str(attempts - 1), "tried again before giving up")
        self.assertIn("Retry", row["text"])
        page.click("#uploads li[data-state=failed] button")
        [row] = self.upload_rows(page, "uploaded", 1)
        self.assertEqual(row["percent"], "100")
        objects = self.stack.aws("s3").list_objects_v2(Bucket=self.stack.bucket,
                                                       Prefix=f"{self.stack.prefix}recordings/console/")["Contents"]
        self.assertEqual([o["Size"] for o in objects], [size], "the whole file, once")
        self.assertTrue(objects[0]["ETag"].strip('"').endswith("-2"), f"two parts: {objects[0]['ETag']}")
        page.wait_for_function("() => document.getElementById('recordings').textContent.includes('room console')")
        self.assertEqual(self.errors, [], "the page raised")

    def test_the_render_form_follows_a_render_to_its_video(self):
        token = self.token("web-render")
        still = self.work / "still.png"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x2040c0:s=320x180",
                        "-frames:v", "1", str(still)], check=True)
        data = still.read_bytes()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        request = urllib.request.Request(f"{self.api}/uploads", method="POST", headers=headers, data=json.dumps(
            {"kind": "asset", "content_type": "image/png", "size": len(data)}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            asset = json.load(response)
        put = urllib.request.Request(asset["upload"]["url"], method="PUT", data=data,
                                     headers=asset["upload"].get("headers") or {})
        urllib.request.urlopen(put, timeout=30).close()

        page = self.open_page(token)
        page.wait_for_selector("#console", state="visible")
        render = {"output": {"width": 320, "height": 180, "fps": 10},
                  "scenes": [{"id": "a", "duration_s": 2, "image": asset["uri"]},
                             {"id": "b", "duration_s": 2, "image": asset["uri"]}],
                  "chunking": {"max_chunk_s": 1, "min_chunk_s": 0.5, "max_concurrency": 1}}
        page.fill("#render-request", json.dumps(render))
        page.click("#render-form button[type=submit]")
        values, seen = [], []
        deadline = time.monotonic() + COMPOSITE_TIMEOUT_S
        while time.monotonic() < deadline:
            values.append(float(page.get_attribute("#render-progress", "value") or 0))
            text = page.text_content("#render-status")
            if not seen or seen[-1] != text:
                seen.append(text)
            if page.get_attribute("#render-status", "data-status") in ("ready", "failed"):
                break
            page.wait_for_timeout(100)
        self.assertEqual(page.get_attribute("#render-status", "data-status"), "ready", f"the page said: {seen}")
        self.assertEqual(values, sorted(values), "the bar only moves forward")
        self.assertEqual(float(page.get_attribute("#render-progress", "value")), 100)
        self.assertTrue(any(" of 4 chunks" in text for text in seen), f"chunks shown: {seen}")
        page.wait_for_selector("#render-output", state="visible")
        self.assertTrue(page.is_hidden("#render-cancel"), "no cancel once ready")
        page.screenshot(path=str(ARTIFACTS / "render-ready.png"), full_page=True)
        video = self.work / "render.mp4"
        with urllib.request.urlopen(page.get_attribute("#render-output", "href"), timeout=30) as response:
            video.write_bytes(response.read())
        info = probe(video)
        self.assertAlmostEqual(float(info["format"]["duration"]), 4.0, delta=0.2)
        colour = pixel(frame_rgb(video, 3.0, (320, 180)), (320, 180), 160, 90)
        self.assertTrue(close_to(colour, (0x20, 0x40, 0xc0)), f"the still's colour: {colour}")
        # The still is listed as the user's asset: no room, nothing to play.
        page.wait_for_function("() => document.getElementById('recordings').textContent.startsWith('asset, ')")
        row = page.eval_on_selector("#recordings li", "li => ({text: li.textContent, buttons: "
                                    "li.querySelectorAll('button').length})")
        self.assertNotIn("null", row["text"])
        self.assertEqual(row["buttons"], 0, row)
        self.assertEqual(self.errors, [], "the page raised")

    def test_an_expired_token_shows_the_sign_in_message(self):
        now = int(time.time())
        page = self.open_page(hs256_token(self.secret, {"sub": "web-expired", "iat": now - 600, "exp": now - 300}))
        page.wait_for_selector("#sign-in", state="visible")
        page.wait_for_function("() => document.getElementById('sign-in-message').textContent.includes('expired')")
        self.assertTrue(page.is_hidden("#console"), "the console stays hidden")
        self.assertTrue(page.is_visible("#token"), "the token field is offered")
        self.assertEqual(self.errors, [], "the page raised")

    def test_vidpipe_demo_ends_with_the_composites_path(self):
        started = time.monotonic()
        out = self.work / "demo"
        demo = subprocess.run([str(VIDPIPE), "demo", "--api-url", self.api, "--out", str(out)],
                              env={**self.stack.env, "JWT_SECRET": self.secret}, cwd=ROOT, capture_output=True,
                              text=True, timeout=COMPOSITE_TIMEOUT_S + 60)
        log(f"vidpipe demo took {time.monotonic() - started:.1f} s:\n{demo.stdout}{demo.stderr}")
        self.assertEqual(demo.returncode, 0, demo.stderr)
        last = demo.stdout.strip().splitlines()[-1]
        self.assertTrue(last.startswith("composite: "), last)
        composite = Path(last.removeprefix("composite: "))
        self.assertTrue(composite.is_file(), composite)
        assert_camera_in_the_corner(self, composite)


class CompositeProgressOnTheTranscoder(ConsoleOnTheLocalStack):
    """The recorder on the ffmpeg backend, its composite in chunks of at most 2 s (docs/transcoder.md)."""

    artifacts = ARTIFACTS / "transcoder"

    @classmethod
    def new_stack(cls, settings):
        stack = LocalStack(cls.work, settings)
        stack.use_transcoder(chunk_seconds=2)
        return stack

    def test_the_composite_bar_climbs_with_the_chunks(self):
        page = self.open_page(self.token("web-chunks"))
        page.wait_for_selector("#console", state="visible")
        self.record_and_upload(page)
        seen, values = self.follow_composite(page)
        climbing = sorted({v for v in values if 0 < v < 100})
        log(f"the composite bar showed {climbing} on its way to 100")
        self.assertTrue(climbing, f"a share between 0 and 100 while the chunks render: {seen}")
        self.assertTrue(any("processing, " in text and not text.endswith(" 0 %") for text in seen), seen)
        watch = self.stack.logs(["watch"], 100000)
        self.assertIn("job started in chunks", watch)
        self.assertGreaterEqual(watch.count("chunk rendered"), 3, "a 5 s composite in chunks of at most 2 s")
        self.assertIn("job joined and complete", watch)
        page.screenshot(path=str(self.artifacts / "page-ready.png"), full_page=True)
        composite = self.work / "chunked-composite.mp4"
        with urllib.request.urlopen(page.get_attribute("#player", "src"), timeout=30) as response:
            composite.write_bytes(response.read())
        assert_camera_in_the_corner(self, composite)
        self.assertEqual(self.errors, [], "the page raised")


if __name__ == "__main__":
    unittest.main()
