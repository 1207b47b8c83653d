#!/usr/bin/python3
"""files_gateway.path_util against the SDKs' conformance vectors
(../shared/filescom-api/vectors/normalization_for_comparison_test_data.json).

    /usr/bin/python3 clients/python/tests/path_util_test.py --package build/clients/python/lib
"""
import argparse
import json
import os
import sys
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join("filescom-api", "vectors", "normalization_for_comparison_test_data.json")
ARGS = None


def shared_dir():
    """--shared, $FILESGW_SHARED_DIR, or ../shared beside the repository."""
    return (ARGS and ARGS.shared) or os.environ.get("FILESGW_SHARED_DIR") or \
        os.path.join(HERE, "..", "..", "..", "..", "shared")


class Vectors(unittest.TestCase):
    def test_every_pair_of_the_conformance_vectors(self):
        from files_gateway import path_util
        path = os.path.join(shared_dir(), VECTORS)
        if not os.path.exists(path):
            self.skipTest("%s is not present: the conformance vectors cannot be checked" % path)
        with open(path, encoding="utf-8") as f:
            pairs = json.load(f)
        self.assertGreater(len(pairs), 40)
        for given, expected in pairs:
            with self.subTest(given=given):
                self.assertEqual(path_util.normalize_for_comparison(given), expected)
                self.assertTrue(path_util.is_same(given, expected))


class Normalize(unittest.TestCase):
    def setUp(self):
        from files_gateway import path_util
        self.p = path_util

    def test_keeps_case_and_inner_spaces(self):
        self.assertEqual(self.p.normalize("/My Folder//./Report #1?.txt/"),
                         "My Folder/Report #1?.txt")

    def test_backslashes_dots_and_nul(self):
        self.assertEqual(self.p.normalize("a\\b\\..\\c"), "a/b/c")
        self.assertEqual(self.p.normalize("x\0y"), "xy")
        self.assertEqual(self.p.normalize(""), "")
        self.assertEqual(self.p.normalize("/../../remote\\path//./to/file.txt"),
                         "remote/path/to/file.txt")

    def test_comparison_folds_what_files_com_folds(self):
        self.assertTrue(self.p.is_same("Straße/ÆON.txt", "strasse/aeon.TXT"))
        self.assertTrue(self.p.is_same("a/b ", "A/B"))
        self.assertFalse(self.p.is_same(" a", "a"))  # leading whitespace is kept
        self.assertFalse(self.p.is_same("a/b", "a/c"))

    def test_capital_i_with_dot_folds_to_one_letter(self):
        self.assertEqual(self.p.normalize_for_comparison("İ"), "i")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    parser.add_argument("--shared")
    ARGS, rest = parser.parse_known_args()
    harness.add_package_path(ARGS.package)
    unittest.main(argv=[sys.argv[0]] + rest)
