"""Checks infra/template.yaml: cfn-lint passes, and the template matches the workspace.

Every function crate has a resource built from it with cargo-lambda on arm64; every `${Name}` in a state machine
definition has a DefinitionSubstitution; every definition passes statelint; every environment variable the
template sets is documented in the README. Nothing is silently dropped (docs/reliability.md): every event
EventBridge delivers to a function has a dead-letter queue that only its rule may write to, every function invoked
asynchronously has an on-failure destination, a function may send only to its own such queues, and every queue
that holds what failed has an alarm and its URL and ARN in the outputs.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tomllib
import unittest
import unittest.mock

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
# Event types that invoke a function asynchronously: Lambda queues the event, retries a failure itself
# (EventInvokeConfig), then drops the event unless the function has an on-failure destination.
ASYNC_EVENTS = EVENTBRIDGE_EVENTS | {"S3", "SNS", "CloudWatchLogs", "IoTRule"}
# The others: the caller gets the answer (and its error), or Lambda polls the source (an event source mapping).
SYNC_EVENTS = {"Api", "HttpApi", "AlexaSkill", "Cognito"}
POLLED_EVENTS = {"SQS", "Kinesis", "DynamoDB", "MSK", "MQ", "SelfManagedKafka", "DocumentDB"}
# SAM's policy templates that reach an SQS queue (by QueueName), and the actions they allow.
SQS_POLICY_TEMPLATES = {
    "SQSSendMessagePolicy": ["sqs:SendMessage*"],
    "SQSPollerPolicy": ["sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage",
                        "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
}
FOURTEEN_DAYS = 14 * 24 * 3600
# What every alarm notifies, into ALARM and back to OK: the AlarmTopicArn given, else the stack's own AlarmTopic.
ALARM_ACTIONS = [{"Fn::If": ["HasAlarmTopic", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}]


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


def walk(node):
    """Every dict inside a JSON value."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def asynchronously_invoked(template):
    """Functions that something invokes asynchronously: an event source of ASYNC_EVENTS, a state machine's
    lambda:invoke with InvocationType Event (its FunctionName a substitution of !GetAtt <function>.Arn or !Ref), or
    the transcoder a function submits jobs to (its TRANSCODER_FUNCTION, invoked with InvocationType Event)."""
    invoked = {function for function, _, event in function_events(template) if event["Type"] in ASYNC_EVENTS}
    for function in resources_of(template, "AWS::Serverless::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if isinstance(variables.get("TRANSCODER_FUNCTION"), dict):
            invoked.add(variables["TRANSCODER_FUNCTION"]["Ref"])
    for machine in resources_of(template, "AWS::Serverless::StateMachine").values():
        definition = json.loads((TEMPLATE.parent / machine["Properties"]["DefinitionUri"]).read_text())
        substitutions = machine["Properties"].get("DefinitionSubstitutions", {})
        for node in walk(definition):
            if node.get("InvocationType") == "Event":
                name = re.fullmatch(r"\$\{([A-Za-z0-9]+)\}", str(node.get("FunctionName")))
                value = substitutions.get(name.group(1)) if name else None
                function = get_att(value, "Arn") or (value or {}).get("Ref")
                assert function, f"an asynchronous lambda:invoke of {node.get('FunctionName')}: which function?"
                invoked.add(function)
    return invoked


def on_failure_queue(function):
    """The queue a function's EventInvokeConfig sends failed asynchronous invocations to, else None."""
    config = function["Properties"].get("EventInvokeConfig", {})
    on_failure = config.get("DestinationConfig", {}).get("OnFailure", {})
    return get_att(on_failure.get("Destination"), "Arn") if on_failure.get("Type") == "SQS" else None


def own_queues(function):
    """The failure queues that are a function's own: its on-failure destination, and the queue its code sends
    what failed to (named by an environment variable *_DLQ_URL, as the notifier's WEBHOOK_DLQ_URL)."""
    own = {on_failure_queue(function)} - {None}
    for name, value in function["Properties"].get("Environment", {}).get("Variables", {}).items():
        if name.endswith("_DLQ_URL") and isinstance(value, dict) and "Ref" in value:
            own.add(value["Ref"])
    return own


def event_dead_letter_queues(template):
    """The queues that EventBridge events of functions name as dead-letter queues."""
    for _, _, event in function_events(template):
        queue = get_att(event["Properties"].get("DeadLetterConfig", {}).get("Arn"), "Arn")
        if queue:
            yield queue


def failure_queues(template):
    """Every queue that holds what failed: EventBridge dead-letter queues, on-failure destinations, and the
    queues functions send what failed to."""
    queues = set(event_dead_letter_queues(template))
    for function in resources_of(template, "AWS::Serverless::Function").values():
        queues |= own_queues(function)
    return queues


def queues_in(resource, queues):
    """The queues among `queues` that a policy statement's Resource reaches."""
    if resource == "*":
        return set(queues)
    arn = get_att(resource, "Arn")
    if arn:
        return {arn} & queues
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = json.dumps(resource["Fn::Sub"])
        named = {q for q in queues if "${" + q + ".Arn}" in text}
        return named if named or ":sqs:" not in text else set(queues)
    return set(queues) if ":sqs:" in str(resource) else set()


def queue_grants(function, queues):
    """(action, queue) for every permission the function's role gets on one of `queues`: its Policies (inline
    statements, SAM policy templates, managed policies) and the sqs:SendMessage SAM adds on an SQS destination
    of EventInvokeConfig (samtranslator's _add_event_invoke_managed_policy)."""
    for policy in as_list(function["Properties"].get("Policies", [])):
        if isinstance(policy, str):
            if "sqs" in policy.lower():
                yield from ((policy, q) for q in queues)
            continue
        for template_name, actions in SQS_POLICY_TEMPLATES.items():
            if template_name in policy:
                name = get_att(policy[template_name]["QueueName"], "QueueName")
                yield from ((a, q) for a in actions for q in ({name} & queues if name else queues))
        for statement in as_list(policy.get("Statement", [])):
            if statement.get("Effect") != "Allow":
                continue
            for action in as_list(statement["Action"]):
                if action == "*" or action.lower().startswith("sqs:"):
                    for resource in as_list(statement["Resource"]):
                        yield from ((action, q) for q in queues_in(resource, queues))
    destinations = function["Properties"].get("EventInvokeConfig", {}).get("DestinationConfig", {})
    for destination in destinations.values():
        if destination.get("Type") == "SQS":
            yield from (("sqs:SendMessage", q) for q in {get_att(destination.get("Destination"), "Arn")} & queues)


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

    def test_the_bucket_keeps_overwritten_versions_for_a_while(self):
        """A replayed legacy upload URL (no If-None-Match) must not destroy a recording: the bucket is versioned,
        and its lifecycle removes noncurrent versions and the delete markers left alone, so nothing is kept for
        ever."""
        template = load_template()
        bucket = template["Resources"]["Bucket"]["Properties"]
        self.assertEqual(bucket["VersioningConfiguration"], {"Status": "Enabled"})
        rules = bucket["LifecycleConfiguration"]["Rules"]
        noncurrent = [r for r in rules if "NoncurrentVersionExpiration" in r]
        self.assertEqual(len(noncurrent), 1, rules)
        self.assertEqual(noncurrent[0]["Status"], "Enabled")
        self.assertEqual(noncurrent[0]["NoncurrentVersionExpiration"]["NoncurrentDays"],
                         {"Ref": "NoncurrentVersionDays"})
        self.assertIn("ExpirationInDays", noncurrent[0], "current versions still expire after the retention")
        self.assertTrue(any(r.get("ExpiredObjectDeleteMarker") is True and r["Status"] == "Enabled" for r in rules))
        presign = template["Resources"]["PresignFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(presign["LEGACY_UPLOAD_URL_TTL_SECONDS"], {"Ref": "LegacyUploadUrlTtlSeconds"})

    def test_playback_is_delivered_by_cloudfront_over_https_with_signed_access_and_the_bucket_stays_private(self):
        template = load_template()
        resources = template["Resources"]
        block = resources["Bucket"]["Properties"]["PublicAccessBlockConfiguration"]
        self.assertEqual(set(block.values()), {True}, block)
        oac = resources["PlaybackOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
        self.assertEqual((oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]),
                         ("s3", "always", "sigv4"))
        config = resources["PlaybackDistribution"]["Properties"]["DistributionConfig"]
        (origin,) = config["Origins"]
        self.assertEqual(origin["DomainName"], {"Fn::GetAtt": ["Bucket", "RegionalDomainName"]})
        self.assertEqual(origin["OriginAccessControlId"], {"Fn::GetAtt": ["PlaybackOriginAccessControl", "Id"]})
        self.assertEqual(origin["S3OriginConfig"], {"OriginAccessIdentity": ""}, "OAC, not a legacy OAI")
        behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
        for behavior in behaviors:
            where = behavior.get("PathPattern", "default")
            self.assertEqual(behavior["ViewerProtocolPolicy"], "https-only", where)
            self.assertEqual(behavior["TrustedKeyGroups"], [{"Ref": "PlaybackKeyGroup"}], where)
            self.assertEqual(behavior["ResponseHeadersPolicyId"], {"Ref": "PlaybackResponseHeadersPolicy"}, where)
        manifests = {b["PathPattern"]: b["CachePolicyId"] for b in config["CacheBehaviors"]}
        self.assertEqual(manifests, {"*.m3u8": {"Ref": "ManifestCachePolicy"}, "*.mpd": {"Ref": "ManifestCachePolicy"}})
        self.assertEqual(config["DefaultCacheBehavior"]["CachePolicyId"], {"Ref": "SegmentCachePolicy"})
        ttl = lambda name: resources[name]["Properties"]["CachePolicyConfig"]
        self.assertLessEqual(ttl("ManifestCachePolicy")["MaxTTL"], 10, "manifests: seconds")
        self.assertGreaterEqual(ttl("SegmentCachePolicy")["MinTTL"], 86400, "segments and images: long")
        cors = resources["PlaybackResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["CorsConfig"]
        self.assertEqual(cors["AccessControlAllowOrigins"]["Items"], {"Fn::Split": [",", {"Ref": "AllowedOrigins"}]})
        self.assertIn("ETag", cors["AccessControlExposeHeaders"]["Items"])
        keys = resources["PlaybackKeyGroup"]["Properties"]["KeyGroupConfig"]["Items"]
        self.assertEqual(keys, [{"Ref": "PlaybackPublicKey"}])
        self.assertEqual(resources["PlaybackPublicKey"]["Properties"]["PublicKeyConfig"]["EncodedKey"],
                         {"Ref": "PlaybackPublicKeyPem"})
        # The only Allow of the bucket policy: this distribution's service principal reading objects.
        statements = resources["BucketTlsOnly"]["Properties"]["PolicyDocument"]["Statement"]
        allows = [st for st in statements if st["Effect"] == "Allow"]
        self.assertEqual(len(allows), 1, allows)
        (allow,) = allows
        self.assertEqual(allow["Principal"], {"Service": "cloudfront.amazonaws.com"})
        self.assertEqual(allow["Action"], "s3:GetObject")
        source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
        self.assertTrue(source.endswith(":distribution/${PlaybackDistribution}"), source)

    def test_every_environment_variable_is_documented_in_the_readme(self):
        template = load_template()
        readme = (ROOT / "README.md").read_text()
        names = set(template["Globals"]["Function"]["Environment"]["Variables"])
        for function in resources_of(template, "AWS::Serverless::Function").values():
            names |= set(function["Properties"].get("Environment", {}).get("Variables", {}))
        missing = sorted(n for n in names if f"`{n}`" not in readme)
        self.assertEqual(missing, [])

    def assert_keeps_messages(self, template, queue):
        """A queue that holds what failed keeps it as long as SQS can (14 days), encrypted."""
        properties = template["Resources"][queue]["Properties"]
        self.assertEqual(properties.get("MessageRetentionPeriod"), FOURTEEN_DAYS, queue)
        self.assertIs(properties.get("SqsManagedSseEnabled"), True, queue)

    def test_every_eventbridge_invoked_function_event_has_a_dead_letter_queue(self):
        """EventBridge drops an event it could not deliver to a function (after the rule's RetryPolicy) unless the
        target has a dead-letter queue. Each such event names a queue of this template (not one SAM makes, which
        would keep messages 4 days), with a RetryPolicy, and a queue policy lets exactly the rules that dead-letter
        to it send to it: SAM writes none for a queue given by Arn. The rule's logical id is <function><event>, as
        SAM names it.
        (Scheduler, for ScheduleV2, sends with the schedule's role, to which SAM adds sqs:SendMessage.)"""
        template = load_template()
        queues = resources_of(template, "AWS::SQS::Queue")
        checked = []
        rules_of = {}
        for function, event_name, event in function_events(template):
            if event["Type"] in EVENTBRIDGE_EVENTS and event["Type"] != "ScheduleV2":
                queue = get_att(event["Properties"].get("DeadLetterConfig", {}).get("Arn"), "Arn")
                rules_of.setdefault(queue, set()).add(function + event_name)
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
                sources = set()
                for statement in allows:
                    self.assertEqual(statement["Principal"], {"Service": "events.amazonaws.com"}, queue)
                    self.assertEqual(as_list(statement["Action"]), ["sqs:SendMessage"], queue)
                    self.assertEqual(get_att(statement["Resource"], "Arn"), queue, queue)
                    source = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
                    sources.add(get_att(source, "Arn"))
                self.assertIn(rule, sources, f"{where}: no statement lets rule {rule} send to {queue}")
                self.assertEqual(sources, rules_of[queue], f"{queue}: only the rules that dead-letter to it may send")
            checked.append(where)
        self.assertTrue(checked, "no function is invoked by EventBridge")

    def test_every_asynchronously_invoked_function_has_an_on_failure_destination(self):
        """Lambda retries a failed asynchronous invocation at most twice and keeps an event at most 6 hours, then
        drops it unless the function has an on-failure destination. Every function invoked asynchronously has an
        SQS queue of its own (not shared with another function or an EventBridge rule: the messages differ and are
        replayed differently), and its retry attempts and event age are set, within Lambda's limits. Every event
        type of a function is known to be asynchronous, synchronous or polled, so a new one is decided here."""
        template = load_template()
        functions = resources_of(template, "AWS::Serverless::Function")
        queues = resources_of(template, "AWS::SQS::Queue")
        for function, event_name, event in function_events(template):
            self.assertIn(event["Type"], ASYNC_EVENTS | SYNC_EVENTS | POLLED_EVENTS, f"{function}.Events.{event_name}")
        invoked = asynchronously_invoked(template)
        self.assertLessEqual({"CompositorFunction", "NotifierFunction"}, invoked)
        owners = {}
        for function in sorted(invoked):
            config = functions[function]["Properties"].get("EventInvokeConfig", {})
            self.assertIn(config.get("MaximumRetryAttempts"), range(0, 3), function)
            self.assertIn(config.get("MaximumEventAgeInSeconds"), range(60, 21601), function)
            queue = on_failure_queue(functions[function])
            self.assertIn(queue, queues, f"{function}: EventInvokeConfig OnFailure must be a queue of this template")
            self.assert_keeps_messages(template, queue)
            owners.setdefault(queue, []).append(function)
        self.assertEqual({q: f for q, f in owners.items() if len(f) > 1}, {}, "a queue per function")
        self.assertEqual(set(owners) & set(event_dead_letter_queues(template)), set())

    def test_a_function_may_only_send_to_its_own_failure_queues(self):
        """On the queues that hold what failed, a function's role gets sqs:SendMessage and nothing else, and only
        on its own queues (its on-failure destination, the queue of its *_DLQ_URL). EventBridge's dead-letter
        queues are written by EventBridge, under their queue policies, never by a function."""
        template = load_template()
        queues = failure_queues(template)
        functions = resources_of(template, "AWS::Serverless::Function")
        for name, function in functions.items():
            granted = set(queue_grants(function, queues))
            self.assertEqual(granted, {("sqs:SendMessage", q) for q in own_queues(function)}, name)
        for name in asynchronously_invoked(template):
            self.assertIsNotNone(on_failure_queue(functions[name]), f"{name} has no on-failure destination")

    def test_every_failure_queue_has_an_alarm(self):
        """A message in a dead-letter or on-failure queue is something that did not happen: each such queue has an
        alarm on ApproximateNumberOfMessagesVisible above 0 in one 5-minute period (an idle queue, which reports no
        data, is fine), notifying the alarm topic (ALARM_ACTIONS)."""
        template = load_template()
        alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
        notify = ALARM_ACTIONS
        queues = failure_queues(template)
        self.assertLessEqual({"WebhookDeadLetterQueue"}, queues)
        for queue in sorted(queues):
            watching = [
                a["Properties"] for a in alarms
                if [d["Name"] for d in a["Properties"].get("Dimensions", [])] == ["QueueName"]
                and get_att(a["Properties"]["Dimensions"][0]["Value"], "QueueName") == queue
            ]
            self.assertEqual(len(watching), 1, f"one alarm on {queue}")
            alarm = watching[0]
            expected = {
                "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Statistic": "Maximum",
                "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching", "AlarmActions": notify, "OKActions": notify,
            }
            self.assertEqual({k: alarm.get(k) for k in expected}, expected, queue)
            self.assertEqual(alarm.get("DatapointsToAlarm", 1), 1, queue)
        self.assertEqual(template["Parameters"]["AlarmTopicArn"]["Default"], "")
        self.assertEqual(template["Conditions"]["HasAlarmTopic"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]})

    def test_every_failure_queue_has_its_url_and_arn_in_the_outputs(self):
        """Replaying a queue starts from its URL (docs/reliability.md); its ARN is for policies elsewhere."""
        template = load_template()
        values = [output["Value"] for output in template["Outputs"].values()]
        for queue in sorted(failure_queues(template)):
            self.assertIn({"Ref": queue}, values, f"{queue}'s URL")
            self.assertIn(queue, [get_att(v, "Arn") for v in values], f"{queue}'s ARN")


# The object ARNs a render's functions and its MediaConvert role may read: the renders' and the assets' folders, the
# optional shared assets folder, the calls' tracks and the call exports' folders (docs/security.md, "Renders
# confined to their caller").
RENDER_OBJECT_ARNS = {
    "${Bucket.Arn}/${KeyPrefix}renders/*",
    "${Bucket.Arn}/${KeyPrefix}assets/*",
    "${Bucket.Arn}/${SharedAssetsPrefix}*",
    "${Bucket.Arn}/${KeyPrefix}rooms/*/tracks/*",
    "${Bucket.Arn}/${KeyPrefix}rooms/*/processed/exports/work/*",
    "${Bucket.Arn}/${KeyPrefix}rooms/*/processed/*",
}
# Where they may write: the renders' folders and the call exports' work folders; the assembler also a call's
# processed folder (the export and its thumbnails).
RENDER_WRITABLE_ARNS = {
    "${Bucket.Arn}/${KeyPrefix}renders/*",
    "${Bucket.Arn}/${KeyPrefix}rooms/*/processed/exports/work/*",
}
ASSEMBLER_WRITABLE_ARNS = RENDER_WRITABLE_ARNS | {"${Bucket.Arn}/${KeyPrefix}rooms/*/processed/*"}


def s3_grants(statements):
    """(action, resource) for every s3: action the Allow statements grant; a resource is its Fn::Sub text (the
    optional ones unwrapped from Fn::If), a GetAtt as `<id>.<attribute>`, or `*`."""
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        for action in as_list(statement["Action"]):
            if not (action == "*" or action.startswith("s3:")):
                continue
            for resource in as_list(statement["Resource"]):
                if isinstance(resource, dict) and "Fn::If" in resource:
                    resource = resource["Fn::If"][1]
                if isinstance(resource, dict) and "Fn::Sub" in resource:
                    resource = resource["Fn::Sub"]
                elif isinstance(resource, dict) and "Fn::GetAtt" in resource:
                    resource = ".".join(as_list(resource["Fn::GetAtt"]))
                yield action, resource


class RenderConfinementTest(unittest.TestCase):
    def test_the_render_functions_and_their_mediaconvert_role_reach_only_the_render_prefixes(self):
        """The chunker, job-builder and assembler (no SAM S3 policy template, which grants a whole bucket) and the
        chunk jobs' role read objects only in the renders', assets' and call exports' folders and the calls'
        tracks; s3:ListBucket (names, so a missing object is a named 404) is on the bucket alone; they write only in
        the renders' folders and the exports' work folders, and the assembler in a call's processed folder."""
        template = load_template()
        functions = resources_of(template, "AWS::Serverless::Function")
        roles = {
            "ChunkerFunction": functions["ChunkerFunction"]["Properties"]["Policies"],
            "JobBuilderFunction": functions["JobBuilderFunction"]["Properties"]["Policies"],
            "AssemblerFunction": functions["AssemblerFunction"]["Properties"]["Policies"],
            "RenderMediaConvertRole": [
                p["PolicyDocument"] for p in template["Resources"]["RenderMediaConvertRole"]["Properties"]["Policies"]
            ],
        }
        for name, policies in roles.items():
            statements = []
            for policy in as_list(policies):
                self.assertFalse(any(k.startswith("S3") for k in policy), f"{name}: a bucket-wide S3 policy template")
                statements += as_list(policy.get("Statement", []))
            grants = set(s3_grants(statements))
            self.assertTrue(grants, name)
            for action, resource in grants:
                if action == "s3:ListBucket":
                    self.assertEqual(resource, "Bucket.Arn", name)
                    continue
                self.assertIn(resource, RENDER_OBJECT_ARNS, f"{name}: {action} on {resource}")
                writable = ASSEMBLER_WRITABLE_ARNS if name == "AssemblerFunction" else RENDER_WRITABLE_ARNS
                if action != "s3:GetObject":
                    self.assertIn(resource, writable, f"{name}: {action}")
                if resource.endswith("/processed/*"):
                    self.assertEqual(name, "AssemblerFunction", "only the assembler reads a whole processed folder")
        self.assertEqual(
            functions["JobBuilderFunction"]["Properties"]["Environment"]["Variables"]["MEDIACONVERT_ROLE_ARN"],
            {"Fn::GetAtt": ["RenderMediaConvertRole", "Arn"]},
        )

    def test_custom_renderers_come_only_from_the_allowlist(self):
        """The chunker's RENDERER_ARNS is the RendererArns parameter, with the stack's transcoder first when it runs
        jobs on Lambda (then also the export's renderer), the API's the same list; the render state machine may
        invoke no Lambda function but its own four, those (when any are listed) and the transcoder (when used)."""
        template = load_template()
        self.assertEqual(template["Parameters"]["RendererArns"]["Type"], "CommaDelimitedList")
        functions = resources_of(template, "AWS::Serverless::Function")
        listed = {"Fn::Join": [",", {"Ref": "RendererArns"}]}
        transcoder = {"Fn::GetAtt": ["TranscoderFunction", "Arn"]}
        expected = {"Fn::If": ["TranscodesOnLambda", {"Fn::Join": [",", [transcoder, listed]]}, listed]}
        for name in ["ChunkerFunction", "PresignFunction"]:
            variables = functions[name]["Properties"]["Environment"]["Variables"]
            self.assertEqual(variables["RENDERER_ARNS"], expected, name)
        self.assertEqual(
            functions["ChunkerFunction"]["Properties"]["Environment"]["Variables"]["EXPORT_RENDERER_ARN"],
            {"Fn::If": ["TranscodesOnLambda", transcoder, ""]},
        )
        machine = template["Resources"]["RenderStateMachine"]["Properties"]
        invoked = []
        for policy in machine["Policies"]:
            if "LambdaInvokePolicy" in policy:
                invoked.append(policy["LambdaInvokePolicy"]["FunctionName"]["Ref"])
            for statement in as_list(policy.get("Statement", [])):
                if "Fn::If" in statement:
                    condition, statement, _ = statement["Fn::If"]
                    self.assertIn(condition, ["HasRenderers", "TranscodesOnLambda"])
                if "lambda:InvokeFunction" in as_list(statement["Action"]):
                    invoked.append(statement["Resource"])
        self.assertEqual(
            invoked,
            ["ChunkerFunction", "JobBuilderFunction", "AssemblerFunction", "NotifierFunction",
             {"Ref": "RendererArns"}, transcoder],
        )


# ---------------------------------------------------------------- deploying (README, "Deploying to AWS")

def translated():
    """The template as SAM's translator (aws-sam-translator, which aws-sam-cli installs) makes it into plain
    CloudFormation: what `sam deploy` sends. The code and definition locations become dummy S3 URIs (the
    translator only takes those; `sam build` and `sam package` write the real ones)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    class NoManagedPolicies:
        def load(self):
            return {}

    template = yaml_parse(TEMPLATE.read_text())
    for resource in template["Resources"].values():
        for key in ("CodeUri", "DefinitionUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/key"
    with unittest.mock.patch.dict("os.environ", {"AWS_DEFAULT_REGION": "us-east-1"}):
        return transform(template, {}, NoManagedPolicies())


def resolve(node, conditions):
    """`node` with every Fn::If decided by `conditions` (condition name -> bool)."""
    if isinstance(node, dict):
        if list(node) == ["Fn::If"]:
            name, when_true, when_false = node["Fn::If"]
            return resolve(when_true if conditions[name] else when_false, conditions)
        return {k: resolve(v, conditions) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, conditions) for v in node]
    return node


# The routes the AddPipe survey client and the recorder page use without an identity when AuthMode is anonymous.
# GET /play: its URLs carry their own signature (docs/playback.md).
PLAY_OPERATION = ("/play/{proxy+}", "get")

SURVEY_OPERATIONS = {
    ("/presigned-url", "post"),
    ("/uploads", "x-amazon-apigateway-any-method"),
    ("/uploads/{proxy+}", "x-amazon-apigateway-any-method"),
    ("/streams/{stream}", "get"),
}
NO_AUTHORIZER = [{"NONE": []}]


def function_crates(template):
    """(logical id, function resource, crate folder, Cargo.toml as a dict) for every function."""
    for name, function in resources_of(template, "AWS::Serverless::Function").items():
        folder = (TEMPLATE.parent / function["Properties"]["CodeUri"]).resolve()
        yield name, function, folder, tomllib.loads((folder / "Cargo.toml").read_text())


def env_file_names(path):
    """The variable names an env file (KEY=VALUE lines, # comments) sets."""
    names = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line.split("=", 1)[0].strip())
    return names


class DeployTest(unittest.TestCase):
    def test_sam_validate_lint_passes(self):
        sam = BIN / "sam"
        self.assertTrue(sam.exists(), f"{sam} is missing: scripts/setup.sh installs aws-sam-cli (requirements-dev.txt)")
        run = subprocess.run([sam, "validate", "--lint", "-t", str(TEMPLATE), "--region", "us-east-1"],
                             capture_output=True, text=True, env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_every_function_deploys_with_cargo_lambda_as_the_template_says(self):
        """`cargo lambda deploy <binary>` from a fresh clone: each function crate's [package.metadata.lambda]
        builds for arm64 and deploys with the template's memory, timeout and active tracing, and its env file
        (deploy/<crate folder>.env, never committed) is made from deploy/<crate folder>.env.example, which sets
        exactly the variables the template gives the function. A function with layers in the template (ffmpeg)
        says how to pass them (--layer-arn) in its example."""
        template = load_template()
        globals_ = template["Globals"]["Function"]
        self.assertEqual(globals_["Tracing"], "Active")
        ignored = (ROOT / ".gitignore").read_text().splitlines()
        self.assertIn("/deploy/*.env", ignored)
        for name, function, folder, manifest in function_crates(template):
            properties = {**globals_, **function["Properties"]}
            lambda_ = manifest["package"]["metadata"]["lambda"]
            self.assertIs(lambda_["build"]["arm64"], True, name)
            deploy = lambda_["deploy"]
            self.assertEqual(deploy["memory"], properties["MemorySize"], name)
            self.assertEqual(deploy["timeout"], properties["Timeout"], name)
            self.assertEqual(deploy["tracing"], "active", name)
            self.assertEqual(deploy["env_file"], f"deploy/{folder.name}.env", name)
            example = ROOT / "deploy" / f"{folder.name}.env.example"
            variables = {**globals_["Environment"]["Variables"],
                         **properties.get("Environment", {}).get("Variables", {})}
            self.assertEqual(sorted(env_file_names(example)), sorted(variables), example.name)
            if "Layers" in properties:
                self.assertIn("--layer-arn", example.read_text(), example.name)

    def test_the_transcoder_runs_on_arm64_with_the_ffmpeg_layer_and_reaches_only_what_its_jobs_need(self):
        """The ffmpeg backend (TranscoderBackend=lambda): the layer, room for media (memory, timeout, ephemeral
        storage), objects read and written under the prefix and deleted only in work folders (a long job's, once it
        is reported), events put only on the default bus
        (where the job rules listen), and the compositor choosing it by the parameter and invoking only it."""
        template = load_template()
        functions = resources_of(template, "AWS::Serverless::Function")
        properties = {**template["Globals"]["Function"], **functions["TranscoderFunction"]["Properties"]}
        self.assertEqual(properties["Architectures"], ["arm64"])
        self.assertEqual(properties["Layers"], [{"Ref": "FfmpegLayerArn"}])
        self.assertEqual((properties["MemorySize"], properties["Timeout"], properties["EphemeralStorage"]["Size"]),
                         (3008, 900, 10240))
        variables = properties["Environment"]["Variables"]
        self.assertEqual(variables["EVENT_BUS_NAME"], "default")
        actions = {action for name, action, _ in granted(template) if name == "TranscoderFunction"}
        self.assertEqual(actions, {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListBucket",
                                   "s3:DeleteObject", "states:StartExecution", "dynamodb:GetItem"})
        # In the table it reads only the cancel marks the compositor puts (docs/transcoder.md, "Canceled").
        reads = [statement for statement in statements_of(functions["TranscoderFunction"]["Properties"]["Policies"])
                 if "dynamodb:GetItem" in as_list(statement.get("Action", []))]
        self.assertEqual([statement.get("Condition") for statement in reads],
                         [{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["JOB#*"]}}])
        deleted = [value for name, action, value in granted(template)
                   if name == "TranscoderFunction" and action == "s3:DeleteObject"]
        self.assertEqual(deleted, [{"Fn::Sub": "${Bucket.Arn}/${KeyPrefix}*/work/*"}])
        # Long jobs: it starts only its own transcode machine, by the ARN it is told, and that machine invokes
        # only it.
        machine = {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
                              "${AWS::StackName}-transcode"}
        started = {str(value) for name, action, value in granted(template)
                   if name == "TranscoderFunction" and action == "states:StartExecution"}
        self.assertEqual(started, {str(machine)})
        self.assertEqual(variables["TRANSCODE_STATE_MACHINE_ARN"], machine)
        transcode = resources_of(template, "AWS::Serverless::StateMachine")["TranscodeStateMachine"]["Properties"]
        self.assertEqual(transcode["Name"], {"Fn::Sub": "${AWS::StackName}-transcode"})
        self.assertEqual(transcode["Policies"], [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "TranscoderFunction"}}}])
        self.assertIn({"EventBridgePutEventsPolicy": {"EventBusName": "default"}},
                      functions["TranscoderFunction"]["Properties"]["Policies"])
        compositor = functions["CompositorFunction"]["Properties"]
        self.assertEqual(compositor["Environment"]["Variables"]["MEDIACONVERT_BACKEND"], {"Ref": "TranscoderBackend"})
        # Playback packages follow it unless the stack names another backend for them.
        self.assertEqual(compositor["Environment"]["Variables"]["PLAYBACK_BACKEND"],
                         {"Fn::If": ["HasPlaybackTranscoderBackend", {"Ref": "PlaybackTranscoderBackend"},
                                     {"Ref": "TranscoderBackend"}]})
        self.assertEqual(template["Parameters"]["PlaybackTranscoderBackend"]["AllowedValues"],
                         ["", "mediaconvert", "lambda"])
        self.assertEqual(template["Parameters"]["TranscoderBackend"]["AllowedValues"], ["mediaconvert", "lambda"])
        self.assertIn({"LambdaInvokePolicy": {"FunctionName": {"Ref": "TranscoderFunction"}}}, compositor["Policies"])
        # It cancels a job in chunks by stopping that machine's execution, and reaches no other execution.
        self.assertEqual(compositor["Environment"]["Variables"]["TRANSCODE_STATE_MACHINE_ARN"], machine)
        executions = {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
                                 "${AWS::StackName}-transcode:*"}
        stopped = {(action, str(value)) for name, action, value in granted(template)
                   if name == "CompositorFunction" and action in {"states:DescribeExecution", "states:StopExecution"}}
        self.assertEqual(stopped, {("states:DescribeExecution", str(executions)),
                                   ("states:StopExecution", str(executions))})
        # Both job rules hear the transcoder's events.
        for function, event in (("CompositorFunction", "JobInputFailure"), ("NotifierFunction", "JobStateChange")):
            pattern = functions[function]["Properties"]["Events"][event]["Properties"]["Pattern"]
            self.assertEqual(pattern["source"], ["aws.mediaconvert", "vidpipe.transcoder"], function)

    def test_routes_follow_the_auth_mode_and_preflights_never_reach_the_authorizer(self):
        """As SAM translates it: with AuthMode jwt every route but the preflights has the JWT authorizer; with
        anonymous the survey routes have none (the function identifies nobody) and the others keep it. GET /play
        never has one (its URLs carry their own signature, and a player sends no Authorization). OPTIONS
        /{proxy+} has no authorizer, and neither has an OPTIONS route on every path an ANY route serves (that ANY
        route would otherwise take the preflight); the presign function's AUTH_MODE is the parameter."""
        template = load_template()
        self.assertEqual(template["Parameters"]["AuthMode"]["AllowedValues"], ["jwt", "anonymous"])
        presign = resources_of(template, "AWS::Serverless::Function")["PresignFunction"]
        self.assertEqual(presign["Properties"]["Environment"]["Variables"]["AUTH_MODE"], {"Ref": "AuthMode"})
        paths = translated()["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
        self.assertLessEqual({path for path, _ in SURVEY_OPERATIONS}, set(paths))
        for anonymous in (False, True):
            resolved = resolve(paths, {"IsAnonymous": anonymous})
            for path, operations in resolved.items():
                if "x-amazon-apigateway-any-method" in operations or path == "/{proxy+}":
                    self.assertEqual(operations.get("options", {}).get("security"), NO_AUTHORIZER, f"OPTIONS {path}")
                for method, operation in operations.items():
                    if method == "options":
                        continue
                    open_ = (anonymous and (path, method) in SURVEY_OPERATIONS) or (path, method) == PLAY_OPERATION
                    expected = NO_AUTHORIZER if open_ else [{"Jwt": []}]
                    self.assertEqual(operation.get("security"), expected, f"{method} {path}, anonymous={anonymous}")
                    uri = operation["x-amazon-apigateway-integration"]["uri"]
                    self.assertIn("${PresignFunction.Arn}", json.dumps(uri), f"{method} {path}")
        permission = template["Resources"]["PresignSurveyRoutesPermission"]["Properties"]
        self.assertEqual(permission["FunctionName"], {"Ref": "PresignFunction"})
        self.assertTrue(permission["SourceArn"]["Fn::Sub"].endswith(":${HttpApi}/*"))



# ---------------------------------------------------------------- observability (docs/operations.md)

def alarms_of(template):
    return {name: r["Properties"] for name, r in resources_of(template, "AWS::CloudWatch::Alarm").items()}


def alarm_on(alarms, namespace, metric, dimensions):
    """The names of the alarms on one metric with exactly these dimensions (a dict)."""
    found = []
    for name, alarm in alarms.items():
        given = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        if (alarm.get("Namespace"), alarm.get("MetricName"), given) == (namespace, metric, dimensions):
            found.append(name)
    return found


def rule_name(rule):
    """How an alarm names an EventBridge rule: its Ref, or for a rule on a custom bus ("bus|rule") its second part."""
    return [{"Ref": rule}, {"Fn::Select": [1, {"Fn::Split": ["|", {"Ref": rule}]}]}]


class ObservabilityTest(unittest.TestCase):
    def test_every_alarm_notifies_the_alarm_topic(self):
        """Every alarm notifies the topic into ALARM and back to OK, and treats no data (nothing ran) as fine.
        The stack makes its own topic unless AlarmTopicArn names one, mails AlarmEmail if given, and outputs it."""
        template = load_template()
        alarms = alarms_of(template)
        self.assertGreater(len(alarms), 20)
        for name, alarm in alarms.items():
            self.assertEqual(alarm.get("AlarmActions"), ALARM_ACTIONS, name)
            self.assertEqual(alarm.get("OKActions"), ALARM_ACTIONS, name)
            self.assertEqual(alarm.get("TreatMissingData"), "notBreaching", name)
        resources = template["Resources"]
        self.assertEqual(resources["AlarmTopic"]["Condition"], "CreateAlarmTopic")
        self.assertEqual(template["Conditions"]["CreateAlarmTopic"], {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]})
        self.assertEqual(resources["AlarmEmailSubscription"]["Properties"]["Endpoint"], {"Ref": "AlarmEmail"})
        self.assertEqual(template["Outputs"]["AlarmTopicArn"]["Value"], ALARM_ACTIONS[0])

    def test_every_function_has_error_and_throttle_alarms_and_logs_kept_for_a_while(self):
        template = load_template()
        alarms = alarms_of(template)
        groups = {r["Properties"]["LogGroupName"]["Fn::Sub"]: r["Properties"]
                  for r in resources_of(template, "AWS::Logs::LogGroup").values()}
        for name in resources_of(template, "AWS::Serverless::Function"):
            for metric in ("Errors", "Throttles"):
                (alarm,) = alarm_on(alarms, "AWS/Lambda", metric, {"FunctionName": {"Ref": name}}) or [None]
                self.assertIsNotNone(alarm, f"{name}: no {metric} alarm")
                self.assertEqual((alarms[alarm]["Threshold"], alarms[alarm]["ComparisonOperator"]),
                                 (0, "GreaterThanThreshold"), alarm)
            group = groups.get(f"/aws/lambda/${{{name}}}")
            self.assertIsNotNone(group, f"{name}: no log group (Lambda would keep its logs for ever)")
            self.assertEqual(group["RetentionInDays"], {"Ref": "LogRetentionDays"}, name)

    def test_job_errors_failure_rates_api_5xx_and_stuck_work_have_alarms(self):
        """MediaConvert jobs of the stack in ERROR; the share of composites and renders that failed (their
        *.failed and *.ready domain events on the stack's bus); the API's 5xx; a stream stuck past its expected
        time (the sweeper's "sweep done" line counting what it found, a field the compositor's code logs); a
        render past its state machine's timeout."""
        template = load_template()
        resources = template["Resources"]
        alarms = alarms_of(template)
        errors = resources["MediaConvertJobErrorRule"]["Properties"]["EventPattern"]
        self.assertEqual((errors["source"], errors["detail"]["status"], errors["detail"]["userMetadata"]),
                         (["aws.mediaconvert", "vidpipe.transcoder"], ["ERROR"], {"app": ["vidpipe"]}))
        self.assertTrue(alarm_on(alarms, "AWS/Events", "MatchedEvents", {"RuleName": {"Ref": "MediaConvertJobErrorRule"}}))
        for kind in ("Composite", "Render"):
            rate = alarms[f"{kind}FailureRateAlarm"]
            counted = {}
            for query in rate["Metrics"]:
                if "MetricStat" in query:
                    dimensions = {d["Name"]: d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"]}
                    self.assertEqual(dimensions["EventBusName"], {"Ref": "EventBus"})
                    counted[query["Id"]] = dimensions["RuleName"]
            for outcome in ("failed", "ready"):
                rule = f"{kind}{outcome.capitalize()}Rule"
                self.assertIn(counted[outcome], rule_name(rule), f"{kind}: {outcome}")
                pattern = resources[rule]["Properties"]["EventPattern"]
                self.assertEqual(pattern, {"source": ["vidpipe"], "detail-type": [f"{kind.lower()}.{outcome}"]})
                self.assertEqual(resources[rule]["Properties"]["EventBusName"], {"Ref": "EventBus"})
            self.assertEqual(rate["Threshold"], {"Ref": "FailureRatePercent"})
        self.assertTrue(alarm_on(alarms, "AWS/ApiGateway", "5xx", {"ApiId": {"Ref": "HttpApi"}, "Stage": "$default"}))
        stuck = resources["StuckStreamsMetricFilter"]["Properties"]
        self.assertEqual(stuck["LogGroupName"], {"Ref": "CompositorLogGroup"})
        self.assertEqual(stuck["FilterPattern"], '{ $.fields.message = "sweep done" && $.fields.found > 0 }')
        sweep = (ROOT / "functions" / "compositor" / "src" / "sweep.rs").read_text()
        self.assertIn('tracing::info!(found = stalled.len(), "sweep done")', sweep)
        (transform,) = stuck["MetricTransformations"]
        self.assertTrue(alarm_on(alarms, transform["MetricNamespace"], transform["MetricName"], {}))
        self.assertTrue(alarm_on(alarms, "AWS/States", "ExecutionsTimedOut",
                                 {"StateMachineArn": {"Ref": "RenderStateMachine"}}))
        render = json.loads((ROOT / "statemachines" / "render.asl.json").read_text())
        self.assertIn("TimeoutSeconds", render)

    def test_the_dashboard_shows_every_function_and_is_json(self):
        template = load_template()
        body, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        widgets = json.loads(body)["widgets"]
        text = json.dumps(widgets)
        for name in resources_of(template, "AWS::Serverless::Function"):
            self.assertIn(f"${{{name}}}", text)
        for metric in ("Invocations", "Duration", "HDOutputDuration", "MatchedEvents", "5xx", "ExecutionsFailed"):
            self.assertIn(f'"{metric}"', text)
        names = set(re.findall(r"\$\{([A-Za-z0-9:.]+)\}", body)) - set(variables)
        unknown = {n for n in names if n.split(".")[0] not in template["Resources"] and not n.startswith("AWS::")}
        self.assertEqual(unknown, set())



# ---------------------------------------------------------------- least privilege and limits (docs/security.md)

# SAM policy templates that grant more than the functions use: every DynamoDB action on the table, or a whole bucket.
BROAD_POLICY_TEMPLATES = {"DynamoDBCrudPolicy", "DynamoDBWritePolicy", "S3CrudPolicy", "S3ReadPolicy",
                          "S3WritePolicy", "S3FullAccessPolicy"}
# The DynamoDB actions each function's adapters call (crates/aws/src/dynamo: put_item, get_item, update_item,
# delete_item, query on the owner index, the sweeper's scan), and no other.
DYNAMODB_ACTIONS = {
    "PresignFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                        "dynamodb:Query"},
    # PutItem: a playback package's claim and its replacement (conditional puts), a canceled job's mark.
    "CompositorFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan"},
    "NotifierFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    # GetItem: its jobs' cancel marks only (JOB#*).
    "TranscoderFunction": {"dynamodb:GetItem"},
}
JOBS = "arn:${AWS::Partition}:mediaconvert:${AWS::Region}:${AWS::AccountId}:jobs/*"
STACK_QUEUE = {"Fn::If": ["HasMediaConvertQueue", {"Ref": "MediaConvertQueueArn"},
                          {"Fn::Sub": "arn:${AWS::Partition}:mediaconvert:${AWS::Region}:${AWS::AccountId}:queues/Default"}]}


def statements_of(policies):
    """Every statement of a resource's Policies (SAM) with the Fn::If ones unwrapped (their true branch)."""
    for policy in as_list(policies):
        if isinstance(policy, dict):
            for statement in as_list(policy.get("Statement", [])):
                if isinstance(statement, dict) and "Fn::If" in statement:
                    statement = statement["Fn::If"][1]
                yield statement


def granted(template):
    """(resource, action, Resource value) for every Allow of every function and state machine."""
    kinds = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
    for name, resource in template["Resources"].items():
        if resource["Type"] in kinds:
            for statement in statements_of(resource["Properties"].get("Policies", [])):
                if statement.get("Effect") == "Allow":
                    for action in as_list(statement["Action"]):
                        for value in as_list(statement["Resource"]):
                            yield name, action, value


class LeastPrivilegeTest(unittest.TestCase):
    def test_no_function_has_a_policy_template_broader_than_it_needs(self):
        template = load_template()
        for name, function in resources_of(template, "AWS::Serverless::Function").items():
            for policy in as_list(function["Properties"].get("Policies", [])):
                broad = set(policy) & BROAD_POLICY_TEMPLATES if isinstance(policy, dict) else {policy}
                self.assertEqual(broad & BROAD_POLICY_TEMPLATES, set(), name)

    def test_each_function_gets_only_the_dynamodb_actions_it_uses(self):
        template = load_template()
        actions = {}
        for name, action, value in granted(template):
            if action.startswith("dynamodb:"):
                actions.setdefault(name, set()).add(action)
                text = json.dumps(value)
                self.assertTrue("Table" in text, f"{name}: {action} on {text}")
        self.assertEqual(actions, DYNAMODB_ACTIONS)

    def test_only_the_api_and_the_transcoder_delete_objects_and_only_in_the_folders_they_remove(self):
        """DELETE /renders/{id} of a finished render removes its folder, DELETE /recordings/{id} a recording's or an
        asset's (its upload and its playback package); the transcoder removes a long job's work folder once the job
        is reported; the notifier removes what a playback job wrote after its package was deleted, in package folders
        only, listing only there; nothing else deletes an object (the bucket's lifecycle expires what is old), and no
        MediaConvert role deletes."""
        template = load_template()
        deletes = [(name, value) for name, action, value in granted(template)
                   if action in ("s3:*", "s3:DeleteObject", "s3:DeleteObjectVersion")]
        self.assertEqual(deletes, [("PresignFunction", {"Fn::Sub": f"${{Bucket.Arn}}/${{KeyPrefix}}{folder}/*"})
                                   for folder in ("renders", "recordings", "assets")]
                         + [("NotifierFunction", {"Fn::Sub": "${Bucket.Arn}/*/playback/*"}),
                            ("TranscoderFunction", {"Fn::Sub": "${Bucket.Arn}/${KeyPrefix}*/work/*"})])
        notifier = resources_of(template, "AWS::Serverless::Function")["NotifierFunction"]
        lists = [statement for statement in statements_of(notifier["Properties"]["Policies"])
                 if "s3:ListBucket" in as_list(statement.get("Action", []))]
        self.assertEqual([statement.get("Condition") for statement in lists],
                         [{"StringLike": {"s3:prefix": "*/playback/*"}}])
        for role in resources_of(template, "AWS::IAM::Role").values():
            for policy in role["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    self.assertFalse(any("Delete" in a for a in as_list(statement["Action"])), statement)

    def test_mediaconvert_jobs_are_created_on_the_stack_queue_and_reached_by_their_arn(self):
        """CreateJob only on the queue of MediaConvertQueueArn (the account's Default queue when empty) and new job
        ARNs; GetJob and CancelJob only on job ARNs; no MediaConvert action on "*" but ListJobs and Probe, which
        take no resource. The render flow's chunk jobs and the compositor's go to that queue."""
        template = load_template()
        self.assertIn("MediaConvertQueueArn", template["Parameters"])
        seen = set()
        for name, action, value in granted(template):
            if not action.startswith("mediaconvert:"):
                continue
            seen.add(action)
            if action == "mediaconvert:CreateJob":
                self.assertIn(value, [STACK_QUEUE, {"Fn::Sub": JOBS}], name)
            elif action in ("mediaconvert:GetJob", "mediaconvert:CancelJob"):
                self.assertEqual(value, {"Fn::Sub": JOBS}, f"{name}: {action}")
            else:
                self.assertIn(action, ("mediaconvert:ListJobs", "mediaconvert:Probe"), name)
        self.assertLessEqual({"mediaconvert:CreateJob", "mediaconvert:GetJob", "mediaconvert:CancelJob"}, seen)
        machine = template["Resources"]["RenderStateMachine"]["Properties"]
        self.assertEqual(machine["DefinitionSubstitutions"]["MediaConvertQueueArn"], STACK_QUEUE)
        compositor = resources_of(template, "AWS::Serverless::Function")["CompositorFunction"]
        self.assertEqual(compositor["Properties"]["Environment"]["Variables"]["MEDIACONVERT_QUEUE_ARN"],
                         {"Fn::If": ["HasMediaConvertQueue", {"Ref": "MediaConvertQueueArn"}, {"Ref": "AWS::NoValue"}]})

    def test_secrets_are_read_from_secrets_manager_never_passed_in_variables(self):
        """No parameter hides a secret (NoEcho) and no variable carries one: the webhook key is a secret the stack
        makes, which the notifier alone may read, named by WEBHOOK_SECRET_ARN; the GET /play key is one too, and
        with the CloudFront private key's secret (a parameter) only the API reads them."""
        template = load_template()
        self.assertEqual([n for n, p in template["Parameters"].items() if p.get("NoEcho")], [])
        for name, function in resources_of(template, "AWS::Serverless::Function").items():
            for variable in function["Properties"].get("Environment", {}).get("Variables", {}):
                if "SECRET" in variable or variable.endswith("_KEY"):
                    self.assertTrue(variable.endswith("_ARN"), f"{name}: {variable} in plain text")
        notifier = resources_of(template, "AWS::Serverless::Function")["NotifierFunction"]["Properties"]
        self.assertEqual(notifier["Environment"]["Variables"]["WEBHOOK_SECRET_ARN"],
                         {"Fn::If": ["HasWebhook", {"Ref": "WebhookSigningSecret"}, {"Ref": "AWS::NoValue"}]})
        reads = [(name, value) for name, action, value in granted(template) if action.startswith("secretsmanager:")]
        self.assertEqual(reads, [("PresignFunction", {"Ref": "PlaybackSigningSecret"}),
                                 ("PresignFunction", {"Ref": "PlaybackPrivateKeySecretArn"}),
                                 ("NotifierFunction", {"Ref": "WebhookSigningSecret"})])
        presign = resources_of(template, "AWS::Serverless::Function")["PresignFunction"]["Properties"]
        variables = presign["Environment"]["Variables"]
        self.assertEqual(variables["PLAYBACK_SIGNING_SECRET_ARN"], {"Ref": "PlaybackSigningSecret"})
        self.assertEqual(variables["CLOUDFRONT_PRIVATE_KEY_SECRET_ARN"], {"Ref": "PlaybackPrivateKeySecretArn"})
        self.assertEqual(variables["CLOUDFRONT_KEY_PAIR_ID"], {"Ref": "PlaybackPublicKey"})
        for name in ("WebhookSigningSecret", "PlaybackSigningSecret"):
            secret = template["Resources"][name]["Properties"]["GenerateSecretString"]
            self.assertGreaterEqual(secret["PasswordLength"], 32)

    def test_the_api_is_throttled_and_bursts_are_bounded_by_reserved_concurrency(self):
        """Every route of the HTTP API is throttled (API Gateway answers 429 beyond); the compositor (which creates
        MediaConvert jobs) and the notifier (DynamoDB, webhooks) have reserved concurrency unless set to 0."""
        template = load_template()
        settings = template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
        self.assertEqual(settings, {"ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                                    "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}})
        functions = resources_of(template, "AWS::Serverless::Function")
        for name, parameter, condition in (("CompositorFunction", "CompositorReservedConcurrency", "ReservesCompositor"),
                                           ("NotifierFunction", "NotifierReservedConcurrency", "ReservesNotifier")):
            self.assertEqual(functions[name]["Properties"]["ReservedConcurrentExecutions"],
                             {"Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]})
            self.assertEqual(template["Conditions"][condition],
                             {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]})


if __name__ == "__main__":
    unittest.main()
