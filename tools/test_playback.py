"""Playback packages end to end on the local stack (tools/local_stack.py), and in a real browser.

One stack for the class, with `PLAYBACK_KINDS=recording` and the presign function under `AUTH_MODE=hs256`. A 6 s
640x360 WebM (VP8 + Opus, as browsers record) is uploaded through the API; the compositor submits its playback job
to the engine, the notifier makes the storyboard and marks the package `ready`, and `GET /recordings/{id}` shows it.

- Its HLS and DASH manifests, served by `GET /play` with every segment presigned on moto, decode end to end with
  ffmpeg (every frame, the source's length and size); the poster and the storyboard have their sizes.
- Debian's Chromium (Playwright, executable_path) plays the HLS through `GET /play` with hls.js (node_modules, from
  `npm ci` in scripts/setup.sh), from the signed URL alone (no Authorization header): `currentTime` passes 3 s, the
  picture is 640x360, and hls.js reports no error.
- A `GET /play` URL whose signature expired is refused (403 `expired`) and Chromium plays nothing from it. moto serves
  presigned S3 URLs whatever their expiry, so the expiry that a local player meets is the route's own.

A missing tool fails the test with what to install; it never skips.
"""

import json
import secrets
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

from local_stack import HLS_JS_DIST, LocalStack, call, log, missing_tools, probe, record_fixtures, start_log

HLS_JS = HLS_JS_DIST / "hls.min.js"
SIZE = (640, 360)
SECONDS = 6
READY_TIMEOUT_S = 240
PAGE = """<!doctype html><meta charset="utf-8"><video id="player" muted></video><script src="hls.min.js"></script>
<script>
window.errors = [];
window.play = (url) => {
  const video = document.getElementById('player');
  // No Authorization header: the GET /play URLs and the presigned segment URLs carry their own signatures.
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_, data) => window.errors.push(
    [data.type, data.details, data.response ? data.response.code : '-', data.fatal].join(' ')));
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch(e => window.errors.push('play: ' + e));
};
</script>"""


class PlaybackEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_log("playback e2e")
        missing = missing_tools(hls_js=True)
        if missing:
            raise AssertionError("the playback test needs:\n  " + "\n  ".join(missing))
        cls.work = Path(tempfile.mkdtemp(prefix="playback-e2e-"))
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        site = cls.work / "site"
        site.mkdir()
        shutil.copy(HLS_JS, site / "hls.min.js")
        (site / "index.html").write_text(PAGE)
        cls.site = record_fixtures.serve(site)
        cls.addClassCleanup(cls.site.server_close)
        cls.addClassCleanup(cls.site.shutdown)
        cls.origin = f"http://127.0.0.1:{cls.site.server_port}"
        cls.secret = secrets.token_hex(32)
        cls.stack = LocalStack(cls.work, {"AUTH_MODE": "hs256", "JWT_SECRET": cls.secret,
                                          "PLAYBACK_KINDS": "recording"})
        cls.addClassCleanup(cls.stack.close)
        cls.api = cls.stack.function_url("vidpipe-presign")
        cls.stack.allow_origin(cls.origin)
        cls.stack.up()
        cls.token = cls.stack.token("viewer")
        cls.recording_id, cls.playback = cls.upload_until_ready()

    @classmethod
    def api_call(cls, method, path, body=None):
        headers = {"Authorization": f"Bearer {cls.token}", "Origin": cls.origin}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body).encode()
        return call(method, f"{cls.api}{path}", body, headers)

    @classmethod
    def upload_until_ready(cls):
        clip = cls.work / "clip.webm"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size={SIZE[0]}x{SIZE[1]}:rate=30:duration={SECONDS}",
                        "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}",
                        "-c:v", "libvpx", "-b:v", "1M", "-c:a", "libopus", str(clip)], check=True)
        data = clip.read_bytes()
        status, _, body = cls.api_call("POST", "/uploads", {
            "kind": "recording", "content_type": "video/webm", "size": len(data), "room_id": "playback",
            "filename": "clip.webm"})
        assert status == 201, body
        created = json.loads(body)
        upload = created["upload"]
        status, _, body = call("PUT", upload["url"], data, upload["headers"])
        assert status == 200, body
        started = time.monotonic()
        log(f"uploaded {len(data)} bytes as {created['key']}; waiting for its playback package")
        seen = None
        while time.monotonic() - started < READY_TIMEOUT_S:
            status, _, body = cls.api_call("GET", f"/recordings/{created['recording_id']}")
            playback = json.loads(body).get("playback")
            state = playback and playback["status"]
            if state != seen:
                log(f"playback: {state}")
                seen = state
            if state in ("ready", "failed"):
                break
            time.sleep(0.5)
        assert seen == "ready", f"the package is {seen}\n{cls.stack.logs(['watch'], 60)}"
        log(f"ready {time.monotonic() - started:.1f} s after the upload: {json.dumps(playback)}")
        return created["recording_id"], playback

    def decode(self, url):
        """Every frame ffmpeg decodes from `url` (a signed GET /play URL): count and last timestamp."""
        out = subprocess.run(["ffmpeg", "-v", "error", "-i", url, "-map", "0:v:0", "-f", "framemd5", "-"],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        frames = [line for line in out.stdout.splitlines() if line and not line.startswith("#")]
        return frames

    def test_hls_and_dash_decode_end_to_end_with_a_poster_and_a_storyboard(self):
        self.assertEqual((self.playback["width"], self.playback["height"]), SIZE)
        self.assertAlmostEqual(self.playback["duration_ms"] / 1000, SECONDS, delta=0.2)
        for manifest in ("hls", "dash"):
            url = self.playback[manifest]
            self.assertTrue(url.startswith("/play/recording/"), url)
            if manifest == "dash":
                # ffmpeg 5.1's DASH demuxer sizes its URL buffer from the manifest URL's length and cuts longer
                # segment URLs short, which a presigned URL is; a query the route ignores makes room.
                url += "&room=" + "x" * 1024
            frames = self.decode(f"{self.api}{url}")
            log(f"{manifest}: {len(frames)} frames decoded")
            self.assertAlmostEqual(len(frames), SECONDS * 30, delta=2, msg=manifest)
        poster = self.work / "poster.jpg"
        with urllib.request.urlopen(self.playback["poster"], timeout=30) as response:
            poster.write_bytes(response.read())
        video = next(s for s in probe(poster)["streams"] if s["codec_type"] == "video")
        self.assertEqual((video["width"], video["height"]), SIZE)
        status, headers, vtt = call("GET", f"{self.api}{self.playback['storyboard']}")
        self.assertEqual(status, 200, vtt)
        self.assertEqual(headers["Content-Type"], "text/vtt")
        cues = [line for line in vtt.decode().splitlines() if "#xywh=" in line]
        self.assertEqual(len(cues), SECONDS // 2, vtt)
        sprite_url, region = cues[0].split("#xywh=")
        with urllib.request.urlopen(sprite_url, timeout=30) as response:
            (self.work / "sprite.jpg").write_bytes(response.read())
        sprite = next(s for s in probe(self.work / "sprite.jpg")["streams"])
        self.assertEqual((sprite["width"], sprite["height"]), (160 * len(cues), 90), region)

    def play_in_chromium(self, url):
        """What Chromium shows after hls.js loads `url`: the position, the picture's size, hls.js's errors."""
        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=record_fixtures.CHROMIUM,
                                                 args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(f"{self.origin}/index.html")
                page.evaluate("(url) => window.play(url)", url)
                page.wait_for_function("() => document.getElementById('player').currentTime > 3 ||"
                                       " window.errors.some(e => e.endsWith('true'))", timeout=60_000)
                state = page.evaluate("() => { const v = document.getElementById('player');"
                                      " return {t: v.currentTime, w: v.videoWidth, h: v.videoHeight,"
                                      " errors: window.errors}; }")
            finally:
                browser.close()
        log(f"Chromium: {state}")
        return state

    def test_chromium_plays_the_hls_with_hls_js(self):
        state = self.play_in_chromium(f"{self.api}{self.playback['hls']}")
        self.assertGreater(state["t"], 3, state)
        self.assertEqual((state["w"], state["h"]), SIZE)
        self.assertEqual(state["errors"], [])

    def test_chromium_is_refused_a_url_whose_signature_expired(self):
        path, query = self.playback["hls"].split("?")
        asset = f"recording/{self.recording_id}"
        expires = int(query.split("&")[0].removeprefix("expires="))
        # The stack's signing rule is the API's: it gives the API's own URL back.
        self.assertEqual(self.stack.play_query(asset, expires), query)
        expired = f"{self.api}{path}?{self.stack.play_query(asset, int(time.time()) - 1)}"
        status, _, body = call("GET", expired)
        self.assertEqual(status, 403, body)
        self.assertEqual(json.loads(body)["error"]["code"], "expired")
        state = self.play_in_chromium(expired)
        self.assertEqual(state["t"], 0, state)
        self.assertEqual(state["w"], 0, state)
        self.assertEqual(state["errors"], ["networkError manifestLoadError 403 true"], state)


if __name__ == "__main__":
    unittest.main()
