"""The call composer (the console's Call panel, web/composer.js) in Chromium against the local stack: issue 16.

The call of tools/test_call_previews.py (three peers' Chromium recordings and a screenshare, uploaded through the
API from Python by their callers) is opened in the console (web/, served as it is) signed in as bob, a member:

- The panel lists the call's tracks with their offsets and statuses, and loads the saved composition.
- Previews: the page mints a `preview:read` token, starts the previews, follows `preview_status` to ready and plays
  the four previews with hls.js under one transport: every player plays (readyState >= 3, its time advances, a
  picture), they keep within 0.15 s of each other while playing, and a seek puts them all within 0.15 s of its
  time. The panel with its players is kept as target/test-artifacts/call-composer/previews.png.
- Saving over a version someone else saved since is a 412: the page says so and loads the saved version. Then, from
  the transport at 3.5 s, the layout `pin` and peer-3 pinned (an event added and removed on the way), peer-3 muted,
  640x360 at 30 fps; saved, the API holds exactly that state.
- Export: the page's export goes to ready; the export plays in the page, its picture at 5.5 s is peer-3's (pinned
  alone from 3.5 s, its canvas green from 4.7 s of the call) in a screenshot of the video, and the five
  thumbnails load 480 wide. The panel at the end is kept as export.png.

A missing tool fails the test with what to install; it never skips.
"""

import json
import secrets
import shutil
import tempfile
import time
import unittest
import urllib.parse
from pathlib import Path

from local_stack import (ROOT, LocalStack, close_to, frame_rgb, log, missing_tools, pixel, probe, record_fixtures,
                         start_log)
from test_call_previews import CALL, READY_TIMEOUT_S, STATE, TRACKS, CallOnTheStack

ARTIFACTS = ROOT / "target" / "test-artifacts" / "call-composer"
PAGE_TIMEOUT_S = 60
# Where the transport is sought to check the players, and how close each must then be.
SEEK_S = 3.0
SYNC_S = 0.15
# When the export shows peer-3 alone in green (STATE pins it from 3.5 s; it turned green 2 s after its 2.7 s start).
GREEN_AT_S = 5.5
GREEN = (0, 255, 0)
# The players' times, durations and states, read at one moment.
PLAYERS_JS = """() => [...document.querySelectorAll('#players video')].map(v => ({
  peer: v.dataset.peer, role: v.dataset.role, t: v.currentTime, duration: v.duration, ready: v.readyState,
  width: v.videoWidth, paused: v.paused, seeking: v.seeking}))"""


class CallComposerEndToEnd(CallOnTheStack, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_log("call composer e2e")
        missing = missing_tools(hls_js=True)
        if missing:
            raise AssertionError("the call composer test needs:\n  " + "\n  ".join(missing))
        cls.work = Path(tempfile.mkdtemp(prefix="composer-e2e-"))
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        cls.stack = LocalStack(cls.work, {"AUTH_MODE": "hs256", "JWT_SECRET": secrets.token_hex(32)}, renders=True)
        cls.addClassCleanup(cls.stack.close)
        cls.site = record_fixtures.serve(ROOT / "web")
        cls.addClassCleanup(cls.site.server_close)
        cls.addClassCleanup(cls.site.shutdown)
        cls.origin = f"http://127.0.0.1:{cls.site.server_port}"
        cls.api = cls.stack.function_url("vidpipe-presign")
        cls.stack.allow_origin(cls.origin)
        cls.stack.up()
        cls.upload_tracks()

        from playwright.sync_api import sync_playwright
        cls.playwright = sync_playwright().start()
        cls.addClassCleanup(cls.playwright.stop)
        cls.browser = cls.playwright.chromium.launch(executable_path=record_fixtures.CHROMIUM,
                                                     args=["--autoplay-policy=no-user-gesture-required",
                                                           "--no-sandbox"])
        cls.addClassCleanup(cls.browser.close)

    def save_from_python(self, sub, state, version=None):
        headers = self.minted(sub, "composition:write")
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        status, saved = self.api_call(sub, "PUT", f"/recordings/{CALL}/composition", state, headers)
        self.assertEqual(status, 200, saved)
        return saved["version"]

    def open_composer(self, sub):
        page = self.browser.new_page(viewport={"width": 1100, "height": 900})
        self.addCleanup(page.close)
        page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        self.errors = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(f"{self.origin}/index.html?api={urllib.parse.quote(self.api, safe='')}"
                  f"#token={urllib.parse.quote(self.tokens[sub])}")
        page.wait_for_selector("#console", state="visible")
        page.fill("#call-id", CALL)
        page.click("#call-form button[type=submit]")
        page.wait_for_selector("#call-view", state="visible")
        return page

    def wait_for_status(self, page, selector, timeout_s):
        """The `data-status` `selector` reaches (ready or failed), and every text it showed on the way."""
        seen = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = page.text_content(selector)
            if not seen or seen[-1] != text:
                seen.append(text)
                log(f"page: {text}")
            status = page.get_attribute(selector, "data-status")
            if status in ("ready", "failed"):
                return status, seen
            time.sleep(0.25)
        self.fail(f"{selector} did not end within {timeout_s} s: {seen}\n{self.stack.logs(['watch'], 60)}")

    def seek(self, page, seconds):
        page.eval_on_selector("#transport-seek", "(s, to) => { s.value = String(to);"
                              " s.dispatchEvent(new Event('input')); }", seconds)

    def test_the_composer_previews_saves_and_exports_a_call(self):
        first = self.save_from_python("carol", {"layout": "speaker", "timeline": [], "tracks": [],
                                                "export": {"resolution": "1280x720", "fps": 25}})
        page = self.open_composer("bob")
        rows = page.eval_on_selector_all("#call-tracks tbody tr",
                                         "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
        expected = sorted((offset, peer, role) for _, peer, role, offset, _ in TRACKS)
        self.assertEqual(rows, [[peer, role, f"{offset / 1000:.1f} s", "uploaded"] for offset, peer, role in expected])
        self.assertEqual((page.input_value("#layout-start"), page.input_value("#export-fps")), ("speaker", "25"))
        self.assertEqual(page.get_attribute("#composition-form", "data-version"), str(first))

        started = time.monotonic()
        self.check_previews_play_in_step(page)
        log(f"previews played and sought {time.monotonic() - started:.1f} s after the click")
        self.check_a_stale_save_is_refused_and_reloaded(page, first)
        self.edit_and_save(page)
        self.check_the_export(page)
        self.assertEqual(self.errors, [], "the page raised")

    def check_previews_play_in_step(self, page):
        page.click("#previews")
        status, seen = self.wait_for_status(page, "#preview-status", READY_TIMEOUT_S)
        self.assertEqual(status, "ready", seen)
        page.wait_for_function("() => { const v = [...document.querySelectorAll('#players video')];"
                               " return v.length === 4 && v.every(p => p.duration > 0); }")
        page.click("#transport-play")
        page.wait_for_function("() => [...document.querySelectorAll('#players video')].every(v =>"
                               " v.readyState >= 3 && v.videoWidth > 0 && !v.paused && v.currentTime > 0.3)")
        before = page.evaluate(PLAYERS_JS)
        page.wait_for_timeout(700)
        after = page.evaluate(PLAYERS_JS)
        log(f"players: {json.dumps(after)}")
        self.assertEqual(sorted((p["peer"], p["role"]) for p in after),
                         sorted((peer, role) for _, peer, role, _, _ in TRACKS))
        for b, a in zip(before, after):
            self.assertGreater(a["t"], b["t"] + 0.3, f"{a['peer']} {a['role']} plays on: {b} then {a}")
            self.assertGreater(a["width"], 0, a)
        # Every player still within its preview shows the same moment of the call.
        times = [p["t"] for p in after if p["t"] < p["duration"] - 0.1]
        self.assertLess(max(times) - min(times), SYNC_S, f"in step while playing: {after}")
        page.click("#transport-play")
        self.seek(page, SEEK_S)
        page.wait_for_function("() => [...document.querySelectorAll('#players video')].every(v =>"
                               " !v.seeking && v.readyState >= 2)")
        sought = page.evaluate(PLAYERS_JS)
        for p in sought:
            self.assertLess(abs(p["t"] - SEEK_S), SYNC_S, f"sought to {SEEK_S} s: {sought}")
            self.assertTrue(p["paused"], p)
        page.locator("#call").screenshot(path=str(ARTIFACTS / "previews.png"))

    def check_a_stale_save_is_refused_and_reloaded(self, page, loaded):
        # Someone else saves over the version the page loaded; the page's save is then refused and reloaded.
        second = self.save_from_python("carol", {"layout": "grid", "timeline": [], "tracks": [],
                                                 "export": {"resolution": "1280x720", "fps": 24}}, loaded)
        page.select_option("#layout-start", "pin")
        page.click("#composition-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('composition-status').textContent"
                               ".includes('saved by someone else')")
        self.assertEqual(page.get_attribute("#composition-form", "data-version"), str(second))
        self.assertEqual((page.input_value("#layout-start"), page.input_value("#export-fps")), ("grid", "24"))
        self.assertIn("error", page.get_attribute("#composition-status", "class"))

    def edit_and_save(self, page):
        # An event added and removed again: only what is listed is saved.
        self.seek(page, 1.0)
        page.click("#composition-peers li[data-peer=peer-1] button.pin")
        self.assertEqual(page.eval_on_selector_all("#timeline li", "l => l.map(e => e.firstChild.textContent)"),
                         ["1.0 s: pin peer-1"])
        page.click("#timeline li button")
        # STATE, made in the page: from 3.5 s the layout pin with peer-3; peer-3 muted; 640x360 at 30 fps.
        self.seek(page, 3.5)
        page.select_option("#layout-now", "pin")
        page.click("#composition-peers li[data-peer=peer-3] button.pin")
        page.check("#composition-peers li[data-peer=peer-3] input.muted")
        page.fill("#export-resolution", "640x360")
        page.fill("#export-fps", "30")
        self.assertEqual(page.eval_on_selector_all("#timeline li", "l => l.map(e => e.firstChild.textContent)"),
                         ["3.5 s: layout pin", "3.5 s: pin peer-3"])
        self.assertTrue(page.evaluate("document.querySelector('#players video[data-peer=peer-3]').muted"),
                        "the muted peer is not heard in its preview either")
        page.click("#composition-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('composition-status').textContent.startsWith('Saved')")
        _, view = self.api_call("alice", "GET", f"/recordings/{CALL}")
        self.assertEqual(view["composition"]["state"], STATE)
        self.assertEqual(page.get_attribute("#composition-form", "data-version"), str(view["composition"]["version"]))

    def check_the_export(self, page):
        started = time.monotonic()
        page.click("#export")
        status, seen = self.wait_for_status(page, "#export-status", READY_TIMEOUT_S)
        self.assertEqual(status, "ready", seen)
        log(f"export ready in the page {time.monotonic() - started:.1f} s after the click")
        self.assertTrue(any("processing" in text for text in seen), f"the statuses as they moved: {seen}")
        page.evaluate("document.getElementById('export-video').play()")
        page.wait_for_function("() => { const v = document.getElementById('export-video');"
                               " return v.currentTime > 0.5 && v.videoWidth === 640; }")
        page.eval_on_selector("#export-video", "(v, at) => { v.pause(); v.currentTime = at; }", GREEN_AT_S)
        page.wait_for_function("() => { const v = document.getElementById('export-video');"
                               " return !v.seeking && v.readyState >= 2; }")
        # The picture alone: the paused player's controls would shade its bottom.
        page.eval_on_selector("#export-video", "v => { v.controls = false; }")
        shot = self.work / "export-frame.png"
        page.locator("#export-video").screenshot(path=str(shot))
        video = next(s for s in probe(shot)["streams"])
        size = (video["width"], video["height"])
        frame = frame_rgb(shot, 0, size)
        for fx, fy in [(0.5, 0.5), (0.1, 0.15), (0.9, 0.85)]:
            x, y = int(size[0] * fx), int(size[1] * fy)
            self.assertTrue(close_to(pixel(frame, size, x, y), GREEN),
                            f"peer-3's green at ({x}, {y}) of {size} at {GREEN_AT_S} s: {pixel(frame, size, x, y)}")
        page.wait_for_function("() => { const t = [...document.querySelectorAll('#thumbnails img')];"
                               " return t.length === 5 && t.every(i => i.complete && i.naturalWidth === 480); }")
        page.locator("#call").screenshot(path=str(ARTIFACTS / "export.png"))


if __name__ == "__main__":
    unittest.main()
