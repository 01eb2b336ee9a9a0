"""A call's export rendered by the transcoder function on the local stack: issue 16's export on issue 18's ffmpeg
backend (docs/transcoder.md, "Chunks of the render flow").

The stack is configured as `TranscoderBackend=lambda` configures it on AWS: `vidpipe-transcoder` is one of the
chunker's `RENDERER_ARNS` and its `EXPORT_RENDERER_ARN`. The call of tools/test_call_previews.py (three peers'
browser recordings and a screenshare) is uploaded, a composition saved and exported: the render state machine
invokes the transcoder for each chunk (`{request_uri, media_uri, chunk}`), no job-builder and no MediaConvert job
(the engine) runs, and the export is the same MP4 as on the MediaConvert path, checked the same way.

A missing tool fails the test with what to install; it never skips.
"""

import secrets
import shutil
import tempfile
import unittest
from pathlib import Path

from local_stack import LocalStack, missing_tools, start_log
from test_call_previews import CallOnTheStack, ExportChecks

TRANSCODER = "arn:aws:lambda:us-east-1:000000000000:function:vidpipe-transcoder"


class CallExportOnTheTranscoder(CallOnTheStack, ExportChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_log("call export on the transcoder e2e")
        missing = missing_tools()
        if missing:
            raise AssertionError("the transcoder export test needs:\n  " + "\n  ".join(missing))
        cls.work = Path(tempfile.mkdtemp(prefix="export-transcoder-e2e-"))
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        settings = {"AUTH_MODE": "hs256", "JWT_SECRET": secrets.token_hex(32),
                    "RENDERER_ARNS": TRANSCODER, "EXPORT_RENDERER_ARN": TRANSCODER}
        cls.stack = LocalStack(cls.work, settings, renders=True)
        cls.addClassCleanup(cls.stack.close)
        cls.api = cls.stack.function_url("vidpipe-presign")
        # The origin of the warm-up's preflight; this test calls the API from Python.
        cls.stack.allow_origin("https://composer.example.com")
        cls.stack.up()
        cls.upload_tracks()

    def test_the_export_is_rendered_chunk_by_chunk_by_the_transcoder(self):
        self.export_and_check()
        # The transcoder rendered the chunks (its log line for each), where the MediaConvert path builds jobs.
        watch = self.stack.logs(["watch"], 100000)
        self.assertIn("chunk rendered", watch)


if __name__ == "__main__":
    unittest.main()
