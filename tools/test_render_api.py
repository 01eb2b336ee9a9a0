"""The render API end to end on the local stack: `POST /renders` starts the render flow through the same SDK call as on
AWS (`vidpipe local stepfunctions`, reached through AWS_ENDPOINT_URL_SFN), the flow's functions run under `cargo
lambda watch`, chunk jobs run on vidpipe-engine and their events reach the notifier through the pump.

- A user uploads three assets (`POST /uploads` kind `asset`): a green still, a blue clip with a 1 kHz tone and a red
  clip with a 600 Hz tone. Two renders of them run at once (the same scenes in two orders); each is polled from
  `queued` or `processing`, with progress that never goes back and is seen between 0 and 100, to `ready`; each video
  has its own scenes' colours where its plan puts them (so no chunk of one is in the other), the 1 kHz tone only in
  the blue scene, and the muted red scene's tone nowhere.
- Another user gets 404 for the render, its cancel and its listing; a repeated POST answers the same render, a
  changed one under the same id 409.
- A cancel stops a running render: `failed` with `canceled`, no chunk written after the one running, no output,
  and one `render.failed` on the bus (the stopped execution's status change reaches the notifier).
- Requests that break the confinement rules are refused by field, and nothing is stored.

A missing tool fails the test with what to install; it never skips.
"""

import json
import math
import secrets
import shutil
import struct
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from local_stack import (ROOT, LocalStack, call, close_to, ffmpeg, frame_rgb, log, missing_tools, pixel,
                         start_log)

ARTIFACTS = ROOT / "target" / "test-artifacts" / "render-api"
SIZE = (320, 180)
FPS = 10
GREEN, BLUE, RED = (0, 200, 0), (0, 0, 230), (230, 0, 0)
TONE_HZ, MUTED_HZ = 1000, 600
RENDER_TIMEOUT_S = 300
POLL_S = 0.2


def tone_power(samples, rate, hz):
    """The power of `hz` in `samples` (Goertzel), relative to the samples' total power."""
    coefficient = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coefficient * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
    total = sum(x * x for x in samples) * len(samples) / 2
    return power / total if total else 0.0


def decoded_audio(path, rate=8000):
    """The video's sound, mono at `rate`, as floats."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate),
                          "-f", "s16le", "-"], check=True, capture_output=True).stdout
    return [s / 32768 for s in struct.unpack(f"<{len(raw) // 2}h", raw)], rate


class RenderApiEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_log("render API e2e")
        missing = missing_tools()
        if missing:
            raise AssertionError("the render API test needs:\n  " + "\n  ".join(missing))
        cls.work = Path(tempfile.mkdtemp(prefix="render-api-"))
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        cls.secret = secrets.token_hex(32)
        cls.stack = LocalStack(cls.work, {"AUTH_MODE": "hs256", "JWT_SECRET": cls.secret}, renders=True)
        cls.addClassCleanup(cls.keep_logs)
        cls.addClassCleanup(cls.stack.close)
        cls.stack.allow_origin("http://127.0.0.1:8080")
        cls.stack.up()
        cls.api = cls.stack.function_url("vidpipe-presign")
        cls.alice, cls.bob = cls.stack.token("alice"), cls.stack.token("bob")
        cls.assets = cls.upload_assets()

    @classmethod
    def keep_logs(cls):
        for name in ("watch", "pump", "stepfunctions"):
            if (cls.work / f"{name}.log").exists():
                shutil.copy(cls.work / f"{name}.log", ARTIFACTS / f"{name}.log")

    @classmethod
    def request(cls, method, path, token, body=None):
        """(status, JSON body) of one API call as the holder of `token`."""
        data = None if body is None else json.dumps(body).encode()
        status, _, answer = call(method, f"{cls.api}{path}", data, {
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"}, timeout=60)
        return status, json.loads(answer) if answer else None

    @classmethod
    def upload_assets(cls):
        """The three assets, uploaded by alice: their `s3://` URIs by name."""
        still, blue, red = cls.work / "still.png", cls.work / "blue.mp4", cls.work / "red.mp4"
        ffmpeg("-f", "lavfi", "-i", "color=c=0x00c800:s=320x180", "-frames:v", "1", str(still))
        for path, colour, hz in ((blue, "0x0000e6", TONE_HZ), (red, "0xe60000", MUTED_HZ)):
            ffmpeg("-f", "lavfi", "-i", f"color=c={colour}:s=320x180:r=10:d=3", "-f", "lavfi", "-i",
                   f"sine=frequency={hz}:sample_rate=48000:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-shortest", str(path))
        uris = {}
        for name, path, content_type in (("still", still, "image/png"), ("blue", blue, "video/mp4"),
                                         ("red", red, "video/mp4")):
            data = path.read_bytes()
            status, created = cls.request("POST", "/uploads", cls.alice, {
                "kind": "asset", "content_type": content_type, "size": len(data), "filename": path.name})
            if status != 201:
                raise AssertionError(f"POST /uploads of {name}: {status} {created}")
            plan = created["upload"]
            put, _, answer = call(plan["method"], plan["url"], data, plan.get("headers") or {})
            if put != 200:
                raise AssertionError(f"PUT of {name}: {put} {answer!r}")
            uris[name] = created["uri"]
        log(f"assets uploaded: {uris}")
        return uris

    def render_request(self, scenes, **extra):
        return {"output": {"width": SIZE[0], "height": SIZE[1], "fps": FPS}, "scenes": scenes,
                "chunking": {"max_chunk_s": 1, "min_chunk_s": 0.5, "max_concurrency": 2}, **extra}

    def scenes(self, order):
        scene = {
            "still": {"id": "still", "duration_s": 2, "image": self.assets["still"]},
            "blue": {"id": "blue", "duration_s": 2, "video": self.assets["blue"]},
            "red": {"id": "red", "duration_s": 1, "video": self.assets["red"], "volume": 0},
        }
        return [scene[name] for name in order]

    def follow(self, render_id, token=None):
        """Polls the render to `ready` or `failed`: every answer seen, in order."""
        seen = []
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        while time.monotonic() < deadline:
            status, render = self.request("GET", f"/renders/{render_id}", token or self.alice)
            self.assertEqual(status, 200, render)
            if not seen or (render["status"], render["progress"], render["phase"]) != (
                    seen[-1]["status"], seen[-1]["progress"], seen[-1]["phase"]):
                log(f"{render_id}: {render['status']} {render['phase']} {render['progress']} % "
                    f"({render['chunks_done']} of {render['chunks_total']} chunks)")
            seen.append(render)
            if render["status"] in ("ready", "failed"):
                return seen
            time.sleep(POLL_S)
        self.fail(f"{render_id} did not finish within {RENDER_TIMEOUT_S} s: {seen[-1]}\n{self.stack.logs()}")

    def download(self, render, name):
        path = self.work / f"{name}.mp4"
        status, _, body = call("GET", render["output_url"], timeout=60)
        self.assertEqual(status, 200)
        path.write_bytes(body)
        shutil.copy(path, ARTIFACTS / path.name)
        return path

    def assert_scenes(self, path, order):
        """Each scene's colour mid-scene; the 1 kHz tone in the blue scene only; the muted red scene's tone nowhere."""
        durations = {"still": 2, "blue": 2, "red": 1}
        colours = {"still": GREEN, "blue": BLUE, "red": RED}
        samples, rate = decoded_audio(path)
        start = 0
        for name in order:
            middle = start + durations[name] / 2
            frame = frame_rgb(path, middle, SIZE)
            colour = pixel(frame, SIZE, SIZE[0] // 2, SIZE[1] // 2)
            self.assertTrue(close_to(colour, colours[name]), f"{path.name} at {middle} s ({name}): {colour}")
            window = samples[int((start + 0.2) * rate):int((start + durations[name] - 0.2) * rate)]
            loud = tone_power(window, rate, TONE_HZ)
            if name == "blue":
                self.assertGreater(loud, 0.5, f"{path.name}: the blue scene's own tone at {start} s")
            else:
                self.assertLess(loud, 0.01, f"{path.name}: no 1 kHz tone in the {name} scene at {start} s")
            self.assertLess(tone_power(window, rate, MUTED_HZ), 0.01, f"{path.name}: the muted tone at {start} s")
            start += durations[name]

    def test_two_renders_at_once_are_followed_to_ready_with_their_own_frames_and_sound(self):
        orders = {"first": ["still", "blue", "red"], "second": ["red", "blue", "still"]}
        posted = {}
        for name, order in orders.items():
            render_id = f"promo-{name}-{secrets.token_hex(3)}"
            body = self.render_request(self.scenes(order), render_id=render_id)
            status, render = self.request("POST", "/renders", self.alice, body)
            self.assertEqual(status, 202, render)
            self.assertEqual((render["render_id"], render["frames"], render["duration_ms"]), (render_id, 50, 5000))
            self.assertIn(render["status"], ("queued", "processing"))
            posted[name] = (render_id, body)

        render_id, body = posted["first"]
        status, again = self.request("POST", "/renders", self.alice, body)
        self.assertEqual((status, again["render_id"]), (202, render_id), again)
        changed = {**body, "scenes": self.scenes(["blue"])}
        status, conflict = self.request("POST", "/renders", self.alice, changed)
        self.assertEqual((status, conflict["error"]["code"]), (409, "render_conflict"), conflict)
        for method in ("GET", "DELETE"):
            status, answer = self.request(method, f"/renders/{render_id}", self.bob)
            self.assertEqual(status, 404, answer)
        self.assertEqual(self.request("GET", "/renders", self.bob)[1]["renders"], [])

        for name, (render_id, _) in posted.items():
            seen = self.follow(render_id)
            final = seen[-1]
            self.assertEqual(final["status"], "ready", final)
            progress = [r["progress"] for r in seen]
            self.assertEqual(progress, sorted(progress), f"progress went back: {progress}")
            self.assertEqual((final["progress"], final["chunks_done"], final["chunks_total"]), (100, 5, 5))
            # Each chunk job's MediaConvert estimate, from its COMPLETE event, summed once per chunk.
            self.assertGreater(final["cost"]["estimated_usd"], 0)
            self.assertEqual((final["cost"]["basis"], final["cost"]["chunks"]), ("mediaconvert-on-demand", 5), final)
            if name == "first":
                self.assertTrue(any(r["status"] == "processing" and 0 < r["progress"] < 100 for r in seen),
                                f"no progress between 0 and 100 seen: {progress}")
            self.assert_scenes(self.download(final, name), orders[name])
        listed = [r["render_id"] for r in self.request("GET", "/renders", self.alice)[1]["renders"]]
        self.assertEqual(listed[:2], [posted["second"][0], posted["first"][0]], "newest first")

    def render_events(self, detail_type):
        """A queue that receives vidpipe's `detail_type` events from the bus: a function returning those seen."""
        sqs, events = self.stack.aws("sqs"), self.stack.aws("events")
        name = f"test-{detail_type.replace('.', '-')}-{secrets.token_hex(3)}"
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=self.stack.config["EVENT_BUS_NAME"],
                        EventPattern=json.dumps({"source": ["vidpipe"], "detail-type": [detail_type]}))
        events.put_targets(Rule=name, EventBusName=self.stack.config["EVENT_BUS_NAME"],
                           Targets=[{"Id": "queue", "Arn": arn}])

        def received():
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            return [json.loads(m["Body"]) for m in messages.get("Messages", [])]
        return received

    def test_a_cancel_stops_the_render_with_no_chunk_after_the_running_one(self):
        failed_events = self.render_events("render.failed")
        render_id = f"long-{secrets.token_hex(3)}"
        scenes = [{"id": "still", "duration_s": 8, "image": self.assets["still"]}]
        body = self.render_request(scenes, render_id=render_id)
        body["chunking"]["max_concurrency"] = 1
        status, render = self.request("POST", "/renders", self.alice, body)
        self.assertEqual(status, 202, render)
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        while True:
            status, render = self.request("GET", f"/renders/{render_id}", self.alice)
            if render["chunks_done"] >= 1 or time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
        self.assertEqual(render["status"], "processing", render)
        s3 = self.stack.aws("s3")
        folder = f"{self.stack.prefix}renders/"

        def chunks():
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.stack.bucket, Prefix=folder)
            keys = [o["Key"] for page in pages for o in page.get("Contents", []) if f"/{render_id}/" in o["Key"]]
            return sorted(k for k in keys if "/chunks/" in k), [k for k in keys if k.endswith("/output.mp4")]

        status, canceled = self.request("DELETE", f"/renders/{render_id}", self.alice)
        self.assertEqual(status, 200, canceled)
        self.assertEqual((canceled["status"], canceled["error"]["code"]), ("failed", "canceled"))
        # The execution is stopped when DELETE answers: at most the chunk then running is still written.
        written_at_cancel, _ = chunks()
        time.sleep(3)
        written, outputs = chunks()
        time.sleep(4)
        self.assertEqual(chunks(), (written, outputs), "a chunk or the output was written after the cancel settled")
        self.assertLessEqual(len(written), len(written_at_cancel) + 1, f"chunks after the cancel: {written}")
        self.assertLess(len(written), 8)
        self.assertEqual(outputs, [])
        status, render = self.request("GET", f"/renders/{render_id}", self.alice)
        self.assertEqual((render["status"], render["error"]["code"]), ("failed", "canceled"), render)
        # The stopped execution's status change reaches the notifier, which announces the end once.
        announced = [e for _ in range(10) for e in failed_events()]
        mine = [e for e in announced if e["detail"]["data"]["render_id"] == render_id]
        self.assertEqual(len(mine), 1, announced)
        self.assertEqual(mine[0]["detail"]["data"]["error"]["error"], "canceled")

    def test_requests_outside_the_callers_storage_are_refused_by_field_and_nothing_is_stored(self):
        own = self.assets["still"]
        folder, name = own.rsplit("/", 1)
        refused = [
            own.replace(f"s3://{self.stack.bucket}/", "s3://another-bucket/"),  # another bucket
            own.replace("alice", "bob"),  # another owner's asset
            f"{folder}/../../{name}",  # out of the caller's folder
        ]
        for uri in refused:
            render_id = f"refused-{secrets.token_hex(3)}"
            body = self.render_request([{"id": "s", "duration_s": 1, "image": uri}], render_id=render_id)
            status, answer = self.request("POST", "/renders", self.alice, body)
            self.assertEqual((status, answer["error"].get("field")), (400, "scenes[0].image"), f"{uri}: {answer}")
            self.assertEqual(self.request("GET", f"/renders/{render_id}", self.alice)[0], 404)
        body = self.render_request([{"id": "s", "duration_s": 1, "image": own}])
        body["output"]["uri"] = f"s3://{self.stack.bucket}/{self.stack.prefix}mine.mp4"
        status, answer = self.request("POST", "/renders", self.alice, body)
        self.assertEqual((status, answer["error"].get("field")), (400, "output.uri"), answer)
        listing = self.stack.aws("s3").list_objects_v2(Bucket=self.stack.bucket,
                                                       Prefix=f"{self.stack.prefix}renders/")
        self.assertFalse([o["Key"] for o in listing.get("Contents", []) if "/refused-" in o["Key"]])


if __name__ == "__main__":
    unittest.main()
