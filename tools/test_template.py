"""Checks infra/template.yaml: cfn-lint passes, and the template matches the workspace.

Every function crate has a resource built from it with cargo-lambda on arm64; every `${Name}` in a state machine
definition has a DefinitionSubstitution; every definition passes statelint; every environment variable the
template sets is documented in the README. Nothing is silently dropped (docs/reliability.md): every event
EventBridge delivers to a function has a dead-letter queue that only its rule may write to.
"""

import json
import pathlib
import re
import subprocess
import sys
import tomllib
import unittest

from cfnlint.decode import decode

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
BIN = pathlib.Path(sys.executable).parent


def load_template():
    template, matches = decode(str(TEMPLATE))
    assert not matches, matches
    return template


def resources_of(template, kind):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


# SAM event types that EventBridge (rules, or Scheduler for ScheduleV2) delivers to a function.
EVENTBRIDGE_EVENTS = {"EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2"}
FOURTEEN_DAYS = 14 * 24 * 3600


def function_events(template):
    """(function, event name, event) for every event of every function."""
    for name, function in resources_of(template, "AWS::Serverless::Function").items():
        for event_name, event in function["Properties"].get("Events", {}).items():
            yield name, event_name, event


def get_att(value, attribute):
    """The logical id that `value` names as `!GetAtt <id>.<attribute>`, else None."""
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        target = value["Fn::GetAtt"]
        target = target.split(".", 1) if isinstance(target, str) else target
        if len(target) == 2 and target[1] == attribute:
            return target[0]
    return None


def as_list(value):
    return value if isinstance(value, list) else [value]


def queue_policy_statements(template, queue):
    """The statements of every AWS::SQS::QueuePolicy that applies to `queue`."""
    for policy in resources_of(template, "AWS::SQS::QueuePolicy").values():
        if {"Ref": queue} in policy["Properties"]["Queues"]:
            yield from policy["Properties"]["PolicyDocument"]["Statement"]


class TemplateTest(unittest.TestCase):
    def test_cfn_lint_passes(self):
        run = subprocess.run([BIN / "cfn-lint", str(TEMPLATE)], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_every_function_crate_is_deployed_with_cargo_lambda_on_arm64(self):
        template = load_template()
        functions = resources_of(template, "AWS::Serverless::Function")
        globals_ = template["Globals"]["Function"]
        self.assertEqual(globals_["Runtime"], "provided.al2023")
        self.assertEqual(globals_["Architectures"], ["arm64"])
        deployed = set()
        for name, function in functions.items():
            self.assertEqual(function["Metadata"]["BuildMethod"], "rust-cargolambda", name)
            code = (TEMPLATE.parent / function["Properties"]["CodeUri"]).resolve()
            manifest = tomllib.loads((code / "Cargo.toml").read_text())
            deployed.add(manifest["package"]["name"])
        crates = {
            tomllib.loads(p.read_text())["package"]["name"]
            for p in (ROOT / "functions").glob("*/Cargo.toml")
        }
        self.assertEqual(deployed, crates)

    def test_every_substitution_in_a_definition_is_provided_and_statelint_passes(self):
        template = load_template()
        machines = resources_of(template, "AWS::Serverless::StateMachine")
        self.assertTrue(machines)
        for name, machine in machines.items():
            path = (TEMPLATE.parent / machine["Properties"]["DefinitionUri"]).resolve()
            text = path.read_text()
            wanted = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
            given = set(machine["Properties"].get("DefinitionSubstitutions", {}))
            self.assertEqual(wanted, given, f"{name}: {path.name}")
            json.loads(text)
            lint = subprocess.run([BIN / "statelint", str(path)], capture_output=True, text=True)
            self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)

    def assert_keeps_messages(self, template, queue):
        """A queue that holds what failed keeps it as long as SQS can (14 days), encrypted."""
        properties = template["Resources"][queue]["Properties"]
        self.assertEqual(properties.get("MessageRetentionPeriod"), FOURTEEN_DAYS, queue)
        self.assertIs(properties.get("SqsManagedSseEnabled"), True, queue)

    def test_every_eventbridge_invoked_function_event_has_a_dead_letter_queue(self):
        """EventBridge drops an event it could not deliver to a function (after the rule's RetryPolicy) unless the
        target has a dead-letter queue. Each such event names a queue of this template (not one SAM makes, which
        would keep messages 4 days), with a RetryPolicy, and a queue policy lets exactly that rule send to it:
        SAM writes none for a queue given by Arn. The rule's logical id is <function><event>, as SAM names it.
        (Scheduler, for ScheduleV2, sends with the schedule's role, to which SAM adds sqs:SendMessage.)"""
        template = load_template()
        queues = resources_of(template, "AWS::SQS::Queue")
        checked = []
        for function, event_name, event in function_events(template):
            if event["Type"] not in EVENTBRIDGE_EVENTS:
                continue
            where = f"{function}.Events.{event_name}"
            properties = event["Properties"]
            self.assertIn("RetryPolicy", properties, where)
            queue = get_att(properties.get("DeadLetterConfig", {}).get("Arn"), "Arn")
            self.assertIn(queue, queues, f"{where}: DeadLetterConfig.Arn must be !GetAtt <a queue here>.Arn")
            self.assert_keeps_messages(template, queue)
            if event["Type"] != "ScheduleV2":
                rule = function + event_name
                allows = [s for s in queue_policy_statements(template, queue) if s["Effect"] == "Allow"]
                self.assertTrue(allows, f"{where}: no queue policy lets EventBridge send to {queue}")
                for statement in allows:
                    self.assertEqual(statement["Principal"], {"Service": "events.amazonaws.com"}, queue)
                    self.assertEqual(as_list(statement["Action"]), ["sqs:SendMessage"], queue)
                    self.assertEqual(get_att(statement["Resource"], "Arn"), queue, queue)
                    source = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
                    self.assertEqual(get_att(source, "Arn"), rule, f"{queue}: only rule {rule} may send")
            checked.append(where)
        self.assertTrue(checked, "no function is invoked by EventBridge")

    def test_every_environment_variable_is_documented_in_the_readme(self):
        template = load_template()
        readme = (ROOT / "README.md").read_text()
        names = set(template["Globals"]["Function"]["Environment"]["Variables"])
        for function in resources_of(template, "AWS::Serverless::Function").values():
            names |= set(function["Properties"].get("Environment", {}).get("Variables", {}))
        missing = sorted(n for n in names if f"`{n}`" not in readme)
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main()
