"""Tests of validate_mediaconvert.py, and the check that every golden job is valid.

Run: .venv/bin/python -m unittest discover -s tools -p 'test_*.py'
"""

import copy
import glob
import os
import unittest

import validate_mediaconvert as vm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = sorted(glob.glob(os.path.join(ROOT, "crates/core/tests/golden/*.json")))
COMPOSITE = os.path.join(ROOT, "crates/core/tests/golden/composite_screen1920x1080_camera640x360.json")


class ValidatorCatchesMistakes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shape = vm.create_job_shape()
        cls.job = vm.load_request(COMPOSITE)

    def problems_after(self, change):
        job = copy.deepcopy(self.job)
        change(job)
        return vm.validate(job, self.shape)

    def test_the_unchanged_job_is_valid(self):
        self.assertEqual(vm.validate(self.job, self.shape), [])

    def test_wrong_enum_value(self):
        def change(job):
            job["Settings"]["Inputs"][0]["VideoOverlays"][0]["Playback"] = "LOOP"
        problems = self.problems_after(change)
        self.assertTrue(any("VideoOverlays[0].Playback: 'LOOP' is not one of ONCE|REPEAT" in p for p in problems), problems)

    def test_out_of_range_number(self):
        def change(job):
            settings = job["Settings"]["OutputGroups"][0]["Outputs"][0]["VideoDescription"]["CodecSettings"]["H264Settings"]
            settings["QvbrSettings"]["QvbrQualityLevel"] = 11
        problems = self.problems_after(change)
        self.assertTrue(any("QvbrQualityLevel: value 11 is above the maximum 10" in p for p in problems), problems)

    def test_number_below_minimum(self):
        def change(job):
            job["Settings"]["OutputGroups"][0]["Outputs"][0]["VideoDescription"]["Width"] = 16
        problems = self.problems_after(change)
        self.assertTrue(any("VideoDescription.Width" in p and "16" in p for p in problems), problems)

    def test_unknown_field(self):
        def change(job):
            job["Settings"]["Inputs"][0]["VideoOverlays"][0]["InitialPosition"]["Scale"] = 2
        problems = self.problems_after(change)
        self.assertTrue(any('Unknown parameter' in p and "Scale" in p for p in problems), problems)

    def test_missing_required_member(self):
        problems = self.problems_after(lambda job: job.pop("Role"))
        self.assertTrue(any("Missing required parameter" in p and "Role" in p for p in problems), problems)

    def test_wrong_type(self):
        def change(job):
            job["Settings"]["OutputGroups"][0]["Outputs"][0]["VideoDescription"]["Height"] = "1080"
        problems = self.problems_after(change)
        self.assertTrue(any("Invalid type" in p and "Height" in p for p in problems), problems)

    def test_bad_timecode_pattern(self):
        def change(job):
            job["Settings"]["Inputs"][0]["VideoOverlays"][0]["StartTimecode"] = "1.5s"
        problems = self.problems_after(change)
        self.assertTrue(any("StartTimecode: '1.5s' does not match pattern" in p for p in problems), problems)


class GoldenJobsAreValid(unittest.TestCase):
    def test_golden_files_exist(self):
        self.assertGreaterEqual(len(GOLDEN), 20, "golden files missing: run the Rust golden test with UPDATE_GOLDEN=1")

    def test_every_golden_job_is_valid(self):
        shape = vm.create_job_shape()
        invalid = {}
        for path in GOLDEN:
            problems = vm.validate(vm.load_request(path), shape)
            if problems:
                invalid[os.path.basename(path)] = problems
        self.assertEqual(invalid, {}, "golden jobs rejected by botocore's MediaConvert model")


if __name__ == "__main__":
    unittest.main()
