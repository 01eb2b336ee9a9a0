"""Checks infra/template.yaml: cfn-lint passes, and the template matches the workspace.

Every function crate has a resource built from it with cargo-lambda on arm64; every `${Name}` in a state machine
definition has a DefinitionSubstitution; every definition passes statelint; every environment variable the
template sets is documented in the README.
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
