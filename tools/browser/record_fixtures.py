#!/usr/bin/env python3
"""Records the browser fixtures: what a real browser's MediaRecorder writes, for the engine and end-to-end tests.

Debian's Chromium, driven by Playwright for Python (executable_path set to it; no browser download), records a few
seconds of each fixture with fake devices: the camera is a solid-red Y4M file and the microphone a 660 Hz tone
(`--use-file-for-fake-*-capture`), the screen is Chromium's synthetic screen, and canvas sources give what no
fake device does (a resolution change, a portrait picture, a variable frame rate that starts late). Every fixture
is recorded at once, in one page, so the whole set takes about as long as the longest one.

    record_fixtures.py OUT_DIR

writes OUT_DIR/<name> for every fixture and OUT_DIR/manifest.json describing them (written last: its presence
means the set is complete).
"""

import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("VIDPIPE_CHROMIUM", "/usr/bin/chromium")

# The fake camera's picture and the fake microphone's tone, which the tests look and listen for.
CAMERA_COLOUR = [255, 0, 0]
CAMERA_SIZE = [640, 360]
MIC_TONE_HZ = 660
CANVAS_TONE_HZ = 880

RECORD_MS = 4000


def canvas(**options):
    """A canvas source: solid red, 30 frames a second unless `intervals` say otherwise."""
    base = {"colour": "rgb(255,0,0)", "intervals": [33]}
    base.update(options)
    return base


# name -> what to record and what the file must then hold (`size` is the picture at the start, `audio_hz` the tone
# on its audio track, if any).
FIXTURES = {
    # The survey client's own choice (vp9, no audio: the sound comes from the screen recording).
    "camera-vp9.webm": {"source": "camera", "audio": False, "mimeType": "video/webm;codecs=vp9",
                        "expect": {"size": CAMERA_SIZE, "colour": CAMERA_COLOUR, "audio_hz": None}},
    "camera-vp8.webm": {"source": "camera", "audio": False, "mimeType": "video/webm;codecs=vp8",
                        "expect": {"size": CAMERA_SIZE, "colour": CAMERA_COLOUR, "audio_hz": None}},
    "camera-vp8-opus.webm": {"source": "camera", "audio": True, "mimeType": "video/webm;codecs=vp8,opus",
                             "expect": {"size": CAMERA_SIZE, "colour": CAMERA_COLOUR, "audio_hz": MIC_TONE_HZ}},
    "camera-vp9-opus.webm": {"source": "camera", "audio": True, "mimeType": "video/webm;codecs=vp9,opus",
                             "expect": {"size": CAMERA_SIZE, "colour": CAMERA_COLOUR, "audio_hz": MIC_TONE_HZ}},
    # MediaRecorder's MP4 is fragmented (Chromium: VP9 + Opus by default, H.264 when asked for avc1).
    "camera.mp4": {"source": "camera", "audio": True, "mimeType": "video/mp4",
                   "expect": {"size": CAMERA_SIZE, "colour": CAMERA_COLOUR, "audio_hz": MIC_TONE_HZ}},
    "camera-avc1.mp4": {"source": "camera", "audio": True, "mimeType": "video/mp4;codecs=avc1,opus",
                        "expect": {"size": CAMERA_SIZE, "colour": CAMERA_COLOUR, "audio_hz": MIC_TONE_HZ}},
    # A camera whose resolution changes mid-recording (a device switch, or the browser adapting to load).
    "camera-resize.webm": {"source": "canvas", "mimeType": "video/webm;codecs=vp8",
                           "canvas": canvas(width=640, height=360, resizeAtMs=2000, resizeTo=[320, 240]),
                           "expect": {"size": [640, 360], "colour": CAMERA_COLOUR, "audio_hz": None,
                                      "resized_to": [320, 240], "resize_at_s": 2.0}},
    # A phone held upright: a portrait picture.
    "camera-portrait.webm": {"source": "canvas", "mimeType": "video/webm;codecs=vp8,opus",
                             "canvas": canvas(width=360, height=640, toneHz=CANVAS_TONE_HZ),
                             "expect": {"size": [360, 640], "colour": CAMERA_COLOUR, "audio_hz": CANVAS_TONE_HZ}},
    # Variable frame rate, and the video's first frame 0.7 s after the audio's: red until 2 s, then green.
    "camera-late-vfr.webm": {"source": "canvas", "mimeType": "video/webm;codecs=vp8,opus",
                             "canvas": canvas(width=640, height=360, intervals=[20, 70, 40, 110], firstFrameAfterMs=700,
                                              switchAtMs=2000, switchColour="rgb(0,255,0)", toneHz=CANVAS_TONE_HZ),
                             "expect": {"size": [640, 360], "colour": CAMERA_COLOUR, "audio_hz": CANVAS_TONE_HZ,
                                        "first_video_s": 0.7, "switch_at_s": 2.0, "switch_colour": [0, 255, 0]}},
    # A screen recorded in the browser (getDisplayMedia), with the microphone.
    "screen.webm": {"source": "screen", "audio": True, "mimeType": "video/webm;codecs=vp8,opus",
                    "expect": {"size": [1280, 720], "colour": None, "audio_hz": MIC_TONE_HZ}},
    "screen.mp4": {"source": "screen", "audio": True, "mimeType": "video/mp4",
                   "expect": {"size": [1280, 720], "colour": None, "audio_hz": MIC_TONE_HZ}},
}


def fail(message):
    print(f"record_fixtures: {message}", file=sys.stderr)
    sys.exit(1)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def fake_devices(folder):
    """The fake camera (a Y4M file Chromium loops) and microphone (a WAV file)."""
    camera = folder / "camera.y4m"
    mic = folder / "mic.wav"
    w, h = CAMERA_SIZE
    ffmpeg("-f", "lavfi", "-i", f"color=c=red:size={w}x{h}:rate=30", "-t", "1", "-pix_fmt", "yuv420p", str(camera))
    # Half of full scale: Chromium's capture path lowers the level (ffmpeg's `sine`, at 1/8, came out at -33 dB).
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc=0.5*sin(2*PI*{MIC_TONE_HZ}*t):s=48000", "-t", "10", str(mic))
    return camera, mic


def serve(directory):
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def chromium_args(camera, mic):
    """Headless Chromium with fake devices, kept off the network (this machine has none)."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
        f"--use-file-for-fake-audio-capture={mic}",
        "--autoplay-policy=no-user-gesture-required",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]


def main():
    if len(sys.argv) != 2:
        fail("usage: record_fixtures.py OUT_DIR")
    out = Path(sys.argv[1])
    if not Path(CHROMIUM).exists():
        fail(f"{CHROMIUM} is missing: run scripts/setup.sh (it installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        fail("Playwright for Python is missing: run scripts/setup.sh (it installs .venv from requirements-dev.txt)")

    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        camera, mic = fake_devices(Path(tmp))
        server = serve(HERE)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args(camera, mic))
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_port}/fixtures.html")
                specs = [dict(spec, name=name, ms=RECORD_MS) for name, spec in FIXTURES.items()]
                print(f"record_fixtures: recording {len(specs)} fixtures of {RECORD_MS / 1000:.0f} s in {CHROMIUM}",
                      file=sys.stderr)
                results = page.evaluate("specs => Promise.all(specs.map(s => window.recordFixture(s)))", specs)
                browser.close()
        finally:
            server.shutdown()
    manifest = {}
    for spec, result in zip(specs, results):
        data = base64.b64decode(result["data"])
        (out / spec["name"]).write_bytes(data)
        manifest[spec["name"]] = dict(spec["expect"], mime_type=result["mimeType"], bytes=len(data),
                                      seconds=RECORD_MS / 1000)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"record_fixtures: wrote {len(manifest)} fixtures to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
