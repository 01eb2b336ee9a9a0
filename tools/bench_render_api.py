"""Times the render API on the local stack (scripts/bench-render-api.sh runs it): for each of N renders, the wall
time of `POST /renders` as a client sees it (the function under `cargo lambda watch`: validation, the render item,
`request.json` and `StartExecution` on the local Step Functions endpoint) and the time from the POST to the first
`GET /renders/{id}` that answers `processing` (the flow's first step, `ReportPlanning`, reached the notifier).
Prints the median, minimum and maximum of each. Each render is one 2 s still scene in one chunk,
and runs to its end before the next is posted.
"""

import json
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from local_stack import LocalStack, call, ffmpeg, log, missing_tools, start_log

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
POLL_S = 0.05


def main():
    start_log("render API bench")
    missing = missing_tools()
    if missing:
        sys.exit("the bench needs:\n  " + "\n  ".join(missing))
    work = Path(tempfile.mkdtemp(prefix="render-bench-"))
    secret = secrets.token_hex(32)
    stack = LocalStack(work, {"AUTH_MODE": "hs256", "JWT_SECRET": secret}, renders=True)
    try:
        stack.allow_origin("http://127.0.0.1:8080")
        stack.up()
        token = stack.token("bench")
        api = stack.function_url("vidpipe-presign")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        still = work / "still.png"
        ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=320x180", "-frames:v", "1", str(still))
        data = still.read_bytes()
        status, _, body = call("POST", f"{api}/uploads", json.dumps(
            {"kind": "asset", "content_type": "image/png", "size": len(data)}).encode(), headers)
        created = json.loads(body)
        upload = created["upload"]
        call(upload["method"], upload["url"], data, upload.get("headers") or {})
        request = {"output": {"width": 320, "height": 180, "fps": 10},
                   "scenes": [{"id": "s", "duration_s": 2, "image": created["uri"]}]}
        posts, to_processing = [], []
        for run in range(RUNS + 1):
            started = time.monotonic()
            status, _, body = call("POST", f"{api}/renders", json.dumps(request).encode(), headers)
            posted = time.monotonic()
            if status != 202:
                sys.exit(f"POST /renders answered {status}: {body!r}")
            render_id = json.loads(body)["render_id"]
            while True:
                _, _, body = call("GET", f"{api}/renders/{render_id}", None, headers)
                if json.loads(body)["status"] != "queued":
                    break
                time.sleep(POLL_S)
            if run > 0:  # the first warms the render functions' processes up
                posts.append(posted - started)
                to_processing.append(time.monotonic() - started)
            log(f"render {run}: POST {1000 * (posted - started):.0f} ms, "
                f"processing after {1000 * (time.monotonic() - started):.0f} ms")
            # One render at a time: the next POST does not share the machine with this one's chunks.
            while json.loads(call("GET", f"{api}/renders/{render_id}", None, headers)[2])["status"] == "processing":
                time.sleep(0.5)
        for name, values in (("POST /renders (client wall time)", posts),
                             ("POST to processing", to_processing)):
            print(f"{name}: median {1000 * statistics.median(values):.0f} ms, "
                  f"min {1000 * min(values):.0f} ms, max {1000 * max(values):.0f} ms over {len(values)} renders")
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
