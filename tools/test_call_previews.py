"""Call previews and the export end to end on the local stack (tools/local_stack.py): issue 16, points 2 and 4.

Three peers' camera tracks and one screenshare are uploaded through the API: WebM recordings of Debian's Chromium's
MediaRecorder (tools/browser/record_fixtures.py, recorded into the test's folder: VP8 and VP9 with Opus, one whose
video starts late at a variable rate, and a screen), each starting at its own time after the call's time zero. A
composition token is minted, `POST /recordings/{id}/preview` starts the previews, the compositor submits one job per
peer and role to the engine, the notifier moves them to `ready`, and `GET /recordings/{id}` shows each signed
playlist. Each is fetched through `GET /play/preview/...` and its segments' boundaries checked to fall at the same
recording times for every peer (2 s segments from time zero); each preview decodes end to end with ffmpeg, its
length the peer's start plus its track.

Then a Composition State is saved and exported (`POST /recordings/{id}/export`, its own token): the render state
machine lays the export out from the probed tracks, renders its chunks on the engine, mixes the unmuted peers once and
joins; `GET /recordings/{id}` shows `export_status` `ready` with the MP4's and the thumbnails' signed URLs, which are
downloaded and checked: size, length, the pinned late peer's picture, the muted peer's tone absent from the mix.

A missing tool fails the test with what to install; it never skips.
"""

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from local_stack import LocalStack, call, log, missing_tools, record_fixtures, start_log

CALL = "rec-e2e-preview"
ROOM = "room-e2e"
T0 = 1_795_194_000_000
SECONDS = 4  # record_fixtures.RECORD_MS
READY_TIMEOUT_S = 300
# The saved composition: a grid, then from 3.5 s peer-3 pinned alone; peer-3 (the canvas recording, 880 Hz) muted.
STATE = {"layout": "grid",
         "timeline": [{"t": 3_500, "type": "layout", "layout": "pin"}, {"t": 3_500, "type": "pin", "peer_id": "peer-3"}],
         "tracks": [{"peer_id": "peer-3", "muted": True}],
         "export": {"resolution": "640x360", "fps": 30}}
# (caller, peer, role, start after time zero in ms, the browser recording)
TRACKS = [
    ("alice", "peer-1", "av", 0, "camera-vp8-opus.webm"),
    ("bob", "peer-2", "av", 1_300, "camera-vp9-opus.webm"),
    ("carol", "peer-3", "av", 2_700, "camera-late-vfr.webm"),
    ("alice", "peer-1", "screenshare", 500, "screen.webm"),
]


def media_uris(playlist):
    """The init segment's URI and each media segment's URI of an HLS media playlist, in order."""
    init = next(line.split('URI="', 1)[1].split('"', 1)[0] for line in playlist.splitlines()
                if line.startswith("#EXT-X-MAP:"))
    return init, [line for line in playlist.splitlines() if line and not line.startswith("#")]


def segment_durations(playlist):
    """The `#EXTINF` durations of an HLS media playlist."""
    return [float(line.split(":", 1)[1].rstrip(",").split(",")[0])
            for line in playlist.splitlines() if line.startswith("#EXTINF:")]


class CallOnTheStack:
    """The call of TRACKS on a running local stack (`cls.stack`, `cls.api`, `cls.work`): its callers' tokens, their
    browser recordings uploaded as its tracks, and the API called as them. Shared with tools/test_call_composer.py."""

    @classmethod
    def api_call(cls, sub, method, path, body=None, headers=None):
        headers = {"Authorization": f"Bearer {cls.tokens[sub]}", **(headers or {})}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body).encode()
        status, _, answer = call(method, f"{cls.api}{path}", body, headers)
        return status, json.loads(answer or b"null")

    @classmethod
    def upload_tracks(cls):
        """Records the browser fixtures into the test's folder and uploads TRACKS from them, as their callers,
        until every track is `uploaded`."""
        cls.tokens = {sub: cls.stack.token(sub) for sub in ("alice", "bob", "carol")}
        cls.recordings = cls.work / "browser"
        started = time.monotonic()
        subprocess.run([sys.executable, record_fixtures.__file__, str(cls.recordings)], check=True, timeout=180)
        log(f"browser recordings made in {time.monotonic() - started:.1f} s")
        for sub, peer, role, offset, recording in TRACKS:
            data = (cls.recordings / recording).read_bytes()
            status, created = cls.api_call(sub, "POST", "/uploads", {
                "kind": "track", "content_type": "video/webm", "size": len(data), "room_id": ROOM,
                "recording_id": CALL, "peer_id": peer, "role": role, "started_at": T0 + offset})
            assert status == 201, created
            upload = created["upload"]
            status, _, body = call("PUT", upload["url"], data, upload["headers"])
            assert status == 200, body
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, view = cls.api_call("alice", "GET", f"/recordings/{CALL}")
            if all(t["status"] == "uploaded" for t in view["tracks"]):
                log(f"{len(view['tracks'])} tracks uploaded")
                return
            time.sleep(0.5)
        raise AssertionError(f"the tracks are not all uploaded: {view}")

    def minted(self, sub, scope):
        status, minted = self.api_call(sub, "POST", f"/recordings/{CALL}/composition/token", {"scope": [scope]})
        self.assertEqual(status, 201, minted)
        return {"X-Composition-Token": minted["token"]}


class ExportChecks:
    """The export of the call of TRACKS, checked end to end (a `CallOnTheStack` test): shared with
    tools/test_call_export_transcoder.py, which renders it on the transcoder function."""

    def band_level(self, path, hz):
        """The mean level (dB) of `path`'s sound in a narrow band around `hz`."""
        out = subprocess.run(["ffmpeg", "-v", "info", "-nostats", "-i", str(path), "-map", "0:a:0", "-af",
                              f"bandpass=f={hz}:width_type=h:w=30,volumedetect", "-f", "null", "-"],
                             capture_output=True, text=True, check=True)
        line = next(line for line in out.stderr.splitlines() if "mean_volume:" in line)
        return float(line.split("mean_volume:", 1)[1].split()[0])

    def export_and_check(self):
        """Saves STATE, exports it and checks the MP4, its pinned peer, its mix and its thumbnails, and that asking
        again answers the same export; returns the export as `GET /recordings/{id}` shows it."""
        status, saved = self.api_call("carol", "PUT", f"/recordings/{CALL}/composition", STATE,
                                      self.minted("carol", "composition:write"))
        self.assertEqual(status, 200, saved)
        # A preview token does not start an export: it needs its own.
        status, refused = self.api_call("alice", "POST", f"/recordings/{CALL}/export", {},
                                        self.minted("alice", "preview:read"))
        self.assertEqual((status, refused["error"]["code"]), (403, "insufficient_scope"), refused)
        body = {"composition_id": str(saved["version"]), "preset": "high", "format": "mp4"}
        status, started = self.api_call("alice", "POST", f"/recordings/{CALL}/export", body,
                                        self.minted("alice", "export:create"))
        self.assertEqual(status, 202, started)
        self.assertTrue(started["started"], started)
        # The answer reads the render after starting it: the local state machine may have begun it by then.
        self.assertIn(started["status"], ("queued", "processing"), started)
        begun = time.monotonic()
        seen = None
        while time.monotonic() - begun < READY_TIMEOUT_S:
            _, view = self.api_call("bob", "GET", f"/recordings/{CALL}")
            if view["export_status"] != seen:
                seen = view["export_status"]
                log(f"export_status: {seen}")
            if seen in ("ready", "failed"):
                break
            time.sleep(0.5)
        self.assertEqual(seen, "ready", f"{view['export']}\n{self.stack.logs(['watch'], 80)}")
        log(f"export ready {time.monotonic() - begun:.1f} s after the request")
        export = view["export"]
        self.assertEqual(export["export_id"], started["export_id"])
        status, _, data = call("GET", export["url"])
        self.assertEqual(status, 200)
        path = self.work / "export.mp4"
        path.write_bytes(data)
        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
                                           str(path)], capture_output=True, text=True, check=True).stdout)
        video = next(s for s in probe["streams"] if s["codec_type"] == "video")
        self.assertEqual((video["codec_name"], video["width"], video["height"]), ("h264", 640, 360))
        self.assertTrue(any(s["codec_type"] == "audio" for s in probe["streams"]), "the mix is muxed in")
        # Until the last track ends: peer-3 started 2.7 s after time zero and recorded about 4 s.
        last_end = max(offset for _, _, _, offset, _ in TRACKS) / 1000 + SECONDS
        self.assertAlmostEqual(float(probe["format"]["duration"]), last_end, delta=0.4)
        # From 3.5 s peer-3 is pinned alone over the whole frame: its canvas turned green 2 s into its recording.
        frame = subprocess.run(["ffmpeg", "-v", "error", "-ss", "5.5", "-i", str(path), "-frames:v", "1", "-f",
                                "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
        for x, y in [(320, 180), (60, 40), (580, 320)]:
            r, g, b = frame[(y * 640 + x) * 3:(y * 640 + x) * 3 + 3]
            self.assertTrue(g > 180 and r < 80 and b < 80, f"({x}, {y}) at 5.5 s: {(r, g, b)}")
        # The peers' microphones (660 Hz) are heard; muted peer-3's canvas tone (880 Hz) is not.
        heard, muted = self.band_level(path, 660), self.band_level(path, 880)
        log(f"mix: 660 Hz band {heard} dB, 880 Hz band {muted} dB")
        self.assertGreater(heard - muted, 20, "the muted peer is not in the mix")
        self.assertEqual(len(export["thumbnails"]), 5)
        for n, url in enumerate(export["thumbnails"], 1):
            self.assertIn(f"/thumb_{n:04}.jpg", url)
            status, _, jpeg = call("GET", url)
            self.assertEqual(status, 200)
            self.assertEqual(jpeg[:3], b"\xff\xd8\xff", "a JPEG")
            thumb = self.work / f"thumb_{n}.jpg"
            thumb.write_bytes(jpeg)
            size = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0",
                                   str(thumb)], capture_output=True, text=True, check=True).stdout.strip()
            self.assertEqual(size, "480,270")
        # The same composition and tracks again: the export stands, nothing is rendered twice.
        status, again = self.api_call("bob", "POST", f"/recordings/{CALL}/export", None,
                                      self.minted("bob", "export:create"))
        self.assertEqual(status, 202, again)
        self.assertEqual((again["export_id"], again["status"], again["started"]),
                         (started["export_id"], "ready", False))
        return export


class CallPreviewsEndToEnd(CallOnTheStack, ExportChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_log("call previews e2e")
        missing = missing_tools()
        if missing:
            raise AssertionError("the call previews test needs:\n  " + "\n  ".join(missing))
        cls.work = Path(tempfile.mkdtemp(prefix="previews-e2e-"))
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        # `renders`: the export runs on the render state machine.
        cls.stack = LocalStack(cls.work, {"AUTH_MODE": "hs256", "JWT_SECRET": secrets.token_hex(32)}, renders=True)
        cls.addClassCleanup(cls.stack.close)
        cls.api = cls.stack.function_url("vidpipe-presign")
        # The composer page's origin (the warm-up's preflight comes from it); this test calls the API from Python.
        cls.stack.allow_origin("https://composer.example.com")
        cls.stack.up()
        cls.upload_tracks()
        cls.call_view = cls.preview_until_ready()

    @classmethod
    def preview_until_ready(cls):
        status, minted = cls.api_call("bob", "POST", f"/recordings/{CALL}/composition/token",
                                      {"scope": ["preview:read"]})
        assert status == 201, minted
        status, started = cls.api_call("bob", "POST", f"/recordings/{CALL}/preview", {},
                                       {"X-Composition-Token": minted["token"]})
        assert status == 202, started
        assert started["started"] and len(started["jobs"]) == 4, started
        begun = time.monotonic()
        seen = None
        while time.monotonic() - begun < READY_TIMEOUT_S:
            _, view = cls.api_call("carol", "GET", f"/recordings/{CALL}")
            if view["preview_status"] != seen:
                seen = view["preview_status"]
                log(f"preview_status: {seen} {json.dumps(view['preview_jobs'])}")
            if seen in ("ready", "failed"):
                break
            time.sleep(0.5)
        assert seen == "ready", f"the previews are {seen}\n{cls.stack.logs(['watch'], 80)}"
        log(f"ready {time.monotonic() - begun:.1f} s after the request")
        return view

    def test_the_saved_composition_exports_to_a_signed_mp4_with_thumbnails(self):
        self.export_and_check()

    def playlists(self, url):
        """The main playlist at `url` (a signed `GET /play/preview` URL) and its video variant playlist."""
        status, headers, main = call("GET", url)
        self.assertEqual(status, 200, main)
        self.assertEqual(headers["Content-Type"], "application/vnd.apple.mpegurl")
        main = main.decode()
        variant = next(line for line in main.splitlines() if "_video.m3u8?" in line)
        base = url.split("?")[0].rsplit("/", 1)[0]
        status, _, media = call("GET", f"{base}/{variant}")
        self.assertEqual(status, 200, media)
        return main, media.decode()

    def segment_starts(self, media, name):
        """The presentation time of each segment's first video frame, read by ffprobe from the segment itself
        (behind its init segment), through the presigned URLs the playlist names."""
        init_uri, segments = media_uris(media)
        self.assertTrue(all(uri.startswith("http") for uri in [init_uri, *segments]), "presigned URLs")
        status, _, init = call("GET", init_uri)
        self.assertEqual(status, 200)
        starts = []
        for n, uri in enumerate(segments):
            status, _, segment = call("GET", uri)
            self.assertEqual(status, 200)
            path = self.work / f"{name}-{n}.mp4"
            path.write_bytes(init + segment)
            out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                  "packet=pts_time", "-of", "csv=p=0", str(path)],
                                 capture_output=True, text=True, check=True)
            starts.append(round(min(float(t) for t in out.stdout.split()), 3))
        return starts

    def test_every_peers_segments_share_boundaries_from_time_zero_and_decode(self):
        preview = self.call_view["preview"]
        urls = {(peer, "av"): v["av"] for peer, v in preview["peers"].items()}
        urls.update({(peer, "screenshare"): v["video"] for peer, v in preview["screenshare"].items()})
        self.assertEqual(sorted(urls), [("peer-1", "av"), ("peer-1", "screenshare"), ("peer-2", "av"),
                                        ("peer-3", "av")])
        for (peer, role), url in sorted(urls.items()):
            offset = next(o for _, p, r, o, _ in TRACKS if (p, r) == (peer, role))
            _, media = self.playlists(f"{self.api}{url}")
            durations = segment_durations(media)
            log(f"{peer} {role}: segments {durations}")
            # Every segment but the last is 2 s, from time zero: segment N covers [2N, 2N + 2) of the recording.
            for duration in durations[:-1]:
                self.assertAlmostEqual(duration, 2.0, delta=0.01, msg=f"{peer} {role}")
            # A browser recording lasts about what was recorded (MediaRecorder stops on its own timeslice).
            self.assertAlmostEqual(sum(durations), (offset + SECONDS * 1000) / 1000, delta=0.3, msg=peer)
            starts = self.segment_starts(media, f"{peer}-{role}")
            log(f"{peer} {role}: segments start at {starts} s of the recording")
            # What the segments hold: segment N's first frame is at 2N s of recording time, for every peer.
            for n, start in enumerate(starts):
                self.assertAlmostEqual(start, 2.0 * n, delta=0.034, msg=f"{peer} {role} segment {n}")
            out = subprocess.run(["ffmpeg", "-v", "error", "-i", f"{self.api}{url}", "-map", "0:v:0",
                                  "-f", "framemd5", "-"], capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            frames = [line for line in out.stdout.splitlines() if line and not line.startswith("#")]
            self.assertAlmostEqual(len(frames), sum(durations) * 30, delta=2, msg=peer)

    def test_a_second_request_while_ready_starts_nothing_and_a_tampered_url_is_refused(self):
        status, minted = self.api_call("alice", "POST", f"/recordings/{CALL}/composition/token",
                                       {"scope": ["preview:read"]})
        self.assertEqual(status, 201, minted)
        status, again = self.api_call("alice", "POST", f"/recordings/{CALL}/preview", None,
                                      {"X-Composition-Token": minted["token"]})
        self.assertEqual(status, 202, again)
        self.assertEqual((again["status"], again["generation"], again["started"]), ("ready", 1, False))
        url = self.call_view["preview"]["peers"]["peer-2"]["av"]
        status, _, body = call("GET", f"{self.api}{url.replace('sig=', 'sig=00')}")
        self.assertEqual(status, 403, body)


if __name__ == "__main__":
    unittest.main()
