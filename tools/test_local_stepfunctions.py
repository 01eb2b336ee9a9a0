"""`vidpipe local stepfunctions` through boto3: the client finds the endpoint through `AWS_ENDPOINT_URL_SFN`, starts
executions, watches them end, stops a running one, lists them newest first, reads their history, and gets Step
Functions' error codes for bad requests.

The endpoint serves a small definition given with `--state-machine ARN=FILE` (a Choice, a Wait and a Pass: no
function to invoke), besides the render flow and partner timer it always registers. It builds the command line with
cargo first (a missing cargo fails the test with what to install).
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import boto3
from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "000000000000"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:greeter"
RENDER = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:vidpipe-render"
DEFINITION = {
    "StartAt": "MaybeWait",
    "States": {
        "MaybeWait": {"Type": "Choice", "Choices": [{"Variable": "$.wait", "IsPresent": True, "Next": "Wait"}],
                      "Default": "Greet"},
        "Wait": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Greet"},
        "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.who)"}, "End": True},
    },
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStepFunctionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("cargo") is None:
            raise AssertionError("cargo is missing: install Rust with rustup")
        subprocess.run(["cargo", "build", "--quiet", "-p", "vidpipe-cli"], cwd=ROOT, check=True)
        cls.workdir = tempfile.TemporaryDirectory()
        definition = pathlib.Path(cls.workdir.name) / "greeter.asl.json"
        definition.write_text(json.dumps(DEFINITION))
        port = free_port()
        env = {**os.environ, "AWS_REGION": REGION, "AWS_ACCOUNT_ID": ACCOUNT, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing"}
        cls.log = open(pathlib.Path(cls.workdir.name) / "endpoint.log", "w+")
        cls.endpoint = subprocess.Popen(
            [str(ROOT / "target/debug/vidpipe"), "local", "stepfunctions", "--listen", f"127.0.0.1:{port}",
             "--state-machine", f"{MACHINE}={definition}"],
            cwd=ROOT, env=env, stdout=cls.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if cls.endpoint.poll() is not None or time.monotonic() > deadline:
                    cls.log.seek(0)
                    raise AssertionError(f"vidpipe local stepfunctions did not start: {cls.log.read()}")
                time.sleep(0.05)
        # The SDK's standard service-specific variable, as the functions use it on the local stack.
        os.environ["AWS_ENDPOINT_URL_SFN"] = f"http://127.0.0.1:{port}"
        cls.sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="testing",
                               aws_secret_access_key="testing")

    @classmethod
    def tearDownClass(cls):
        os.environ.pop("AWS_ENDPOINT_URL_SFN", None)
        cls.endpoint.terminate()
        cls.endpoint.wait(timeout=10)
        cls.log.close()
        cls.workdir.cleanup()

    def settled(self, arn):
        for _ in range(200):
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.01)
        raise AssertionError(f"{arn} still runs after 2 s")

    def error_code(self, call, **kwargs):
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        return caught.exception.response["Error"]["Code"]

    def test_an_execution_runs_to_its_end_with_its_history(self):
        started = self.sfn.start_execution(stateMachineArn=MACHINE, name="hello", input='{"who": "boto3"}')
        self.assertEqual(started["executionArn"], f"arn:aws:states:{REGION}:{ACCOUNT}:execution:greeter:hello")
        described = self.settled(started["executionArn"])
        self.assertEqual(described["status"], "SUCCEEDED")
        self.assertEqual(json.loads(described["output"]), {"greeting": "Hello, boto3!"})
        self.assertGreaterEqual(described["stopDate"], described["startDate"])
        events = self.sfn.get_execution_history(executionArn=started["executionArn"])["events"]
        self.assertEqual([e["type"] for e in events], [
            "ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited", "PassStateEntered", "PassStateExited",
            "ExecutionSucceeded"])
        self.assertEqual(json.loads(events[-1]["executionSucceededEventDetails"]["output"]),
                         {"greeting": "Hello, boto3!"})

    def test_a_running_execution_is_stopped_and_listed(self):
        started = self.sfn.start_execution(stateMachineArn=MACHINE, name="long", input='{"who": "x", "wait": 60}')
        again = self.sfn.start_execution(stateMachineArn=MACHINE, name="long", input='{"who": "x", "wait": 60}')
        self.assertEqual(again["startDate"], started["startDate"])
        self.assertEqual(self.error_code(self.sfn.start_execution, stateMachineArn=MACHINE, name="long",
                                         input='{"who": "y", "wait": 60}'), "ExecutionAlreadyExists")
        self.assertEqual(self.sfn.describe_execution(executionArn=started["executionArn"])["status"], "RUNNING")
        running = self.sfn.list_executions(stateMachineArn=MACHINE, statusFilter="RUNNING")["executions"]
        self.assertIn("long", [e["name"] for e in running])
        self.sfn.stop_execution(executionArn=started["executionArn"], error="Canceled", cause="by the test")
        described = self.sfn.describe_execution(executionArn=started["executionArn"])
        self.assertEqual((described["status"], described["error"]), ("ABORTED", "Canceled"))
        events = self.sfn.get_execution_history(executionArn=started["executionArn"], reverseOrder=True)["events"]
        self.assertEqual(events[0]["type"], "ExecutionAborted")
        listed = self.sfn.list_executions(stateMachineArn=MACHINE)["executions"]
        self.assertEqual(listed[0]["name"], "long", "newest first")
        self.assertEqual(self.sfn.list_executions(stateMachineArn=RENDER)["executions"], [],
                         "the render flow is registered")

    def test_bad_requests_get_step_functions_error_codes(self):
        missing = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:greeter:nobody"
        self.assertEqual(self.error_code(self.sfn.describe_execution, executionArn=missing), "ExecutionDoesNotExist")
        self.assertEqual(self.error_code(self.sfn.describe_execution, executionArn="greeter"), "InvalidArn")
        self.assertEqual(self.error_code(self.sfn.start_execution, stateMachineArn=MACHINE + "-other"),
                         "StateMachineDoesNotExist")
        self.assertEqual(self.error_code(self.sfn.start_execution, stateMachineArn=MACHINE, name="a/b"),
                         "InvalidName")
        self.assertEqual(self.error_code(self.sfn.start_execution, stateMachineArn=MACHINE, input="{"),
                         "InvalidExecutionInput")


if __name__ == "__main__":
    unittest.main()
