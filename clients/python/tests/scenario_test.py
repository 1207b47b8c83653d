#!/usr/bin/python3
"""Runs tests/clients/scenario.json with the Python client against files-gateway
and files-emulator started from a build tree. One unittest test per case
(test_<case name>); see tests/clients/README.md for the format.

    /usr/bin/python3 clients/python/tests/scenario_test.py --bin build \\
        --package build/clients/python/lib [unittest args, e.g. -k user_crud]
"""
import argparse
import concurrent.futures
import hashlib
import itertools
import json
import os
import re
import sys
import tempfile
import unittest
import uuid

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCENARIO = os.path.join(HERE, "..", "..", "..", "tests", "clients", "scenario.json")
ARGS = None
_VAR = re.compile(r"\$\{(\w+)\}")


class Env:
    """The servers and clients all cases share (started once)."""

    def __init__(self, scenario, build_dir):
        import files_gateway
        self.key = "py-scenario-" + uuid.uuid4().hex[:8]
        self.servers = []
        self.clients = {}
        self.run = "py" + uuid.uuid4().hex[:8]
        try:
            emu = harness.start_emulator(build_dir, self.key)
            self.servers.append(emu)
            self.base_url = emu.ready["base_url"]
            for name, spec in scenario["gateways"].items():
                if spec.get("unreachable"):
                    target = harness.unused_loopback_target()
                else:
                    key = self.key if spec.get("api_key") == "valid" else "not-" + self.key
                    gw = harness.start_gateway(build_dir, self.base_url, key)
                    self.servers.append(gw)
                    target = gw.target
                self.clients[name] = files_gateway.connect(target, timeout=60)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        for c in self.clients.values():
            c.close()
        for s in self.servers:
            s.stop()

    def logs(self):
        return "\n".join("--- %s\n%s" % (s.cmd[0], "\n".join(list(s.tail)[-20:]))
                         for s in self.servers)


class Case:
    """Runs the steps of one case; `test` is the unittest.TestCase reporting."""

    def __init__(self, env, test, case):
        self.env = env
        self.t = test
        self.case = case
        self.vars = {"run": env.run}
        self.contents = {}
        self.tmp = tempfile.TemporaryDirectory(prefix="scenario-")

    # --- values ------------------------------------------------------------

    def sub(self, value, extra=None):
        scope = dict(self.vars, **(extra or {}))
        if isinstance(value, str):
            whole = _VAR.fullmatch(value)
            if whole:
                return scope[whole.group(1)]
            return _VAR.sub(lambda m: str(scope[m.group(1)]), value)
        if isinstance(value, list):
            return [self.sub(v, extra) for v in value]
        if isinstance(value, dict):
            return {k: self.sub(v, extra) for k, v in value.items()}
        return value

    def client(self, step):
        return self.env.clients[step.get("gateway", "default")]

    def content(self, spec):
        data = os.urandom(spec["random_bytes"])
        self.contents[spec["name"]] = data
        return data

    def local_file(self, data):
        fd, path = tempfile.mkstemp(dir=self.tmp.name)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path

    # --- running -----------------------------------------------------------

    def run(self):
        with self.tmp:
            for n, step in enumerate(self.case["steps"]):
                where = "step %d (%s)" % (n, step["op"])
                expect = self.sub(step.get("expect", {}))
                try:
                    result = getattr(self, "op_" + step["op"])(step, expect)
                except Exception as e:  # noqa: BLE001 - compared with the expectation below
                    import files_gateway
                    if "error" not in expect or not isinstance(e, files_gateway.Error):
                        raise AssertionError("%s failed: %r\n%s" % (where, e, self.env.logs())) \
                            from e
                    self.check_error(where, e, expect["error"])
                    continue
                if "error" in expect:
                    self.t.fail("%s: expected %s, got %r" % (where, expect["error"], result))
                self.check(where, result, expect)
                for var, field in step.get("save", {}).items():
                    self.vars[var] = result.to_dict()[field]

    def check(self, where, result, expect):
        t = self.t
        if expect.get("none"):
            t.assertIsNone(result, where)
        if "fields" in expect:
            got = result.to_dict()
            for k, v in expect["fields"].items():
                t.assertEqual(got.get(k), v, "%s: field %s of %r" % (where, k, got))
        if "same_as" in expect:
            want = self.contents[expect["same_as"]]
            t.assertEqual(len(result["bytes"]), len(want), where)
            t.assertEqual(hashlib.sha256(result["bytes"]).hexdigest(),
                          hashlib.sha256(want).hexdigest(), where + ": content differs")
        if "text" in expect:
            t.assertEqual(result["text"], expect["text"], where)
        if "names" in expect:
            t.assertEqual(sorted(result), sorted(expect["names"]), where)
        for key in ("count", "pages", "first_page_count"):
            if key in expect:
                t.assertEqual(result[key], expect[key], "%s: %s" % (where, key))
        if "sorted_by" in expect:
            values = [i.get(expect["sorted_by"]) for i in result["items"]]
            as_bytes = [v.encode() if isinstance(v, str) else v for v in values]
            t.assertEqual(as_bytes, sorted(as_bytes), where + ": not sorted")
        if "unique" in expect:
            values = [i.get(expect["unique"]) for i in result["items"]]
            t.assertEqual(len(values), len(set(values)), where + ": repeated items")
        if "max_bytes_received" in expect:
            t.assertLess(result["bytes_received"], expect["max_bytes_received"], where)
        if "persisted_size" in expect:
            t.assertEqual(result["persisted_size"], expect["persisted_size"], where)
        if "progress_final" in expect or "progress_calls_min" in expect:
            reports = result["progress"]
            t.assertGreaterEqual(len(reports), expect.get("progress_calls_min", 1), where)
            done = [d for d, _ in reports]
            t.assertEqual(done, sorted(done), where + ": progress went back")
            if "progress_final" in expect:
                t.assertEqual(done[-1], expect["progress_final"], where)
                totals = {total for _, total in reports}
                t.assertTrue(totals <= {None, expect["progress_final"]}, where + str(totals))

    def check_error(self, where, e, want):
        from files_gateway import errors
        t = self.t
        where = "%s: %r" % (where, e)
        if "class" in want:
            t.assertEqual(type(e).__name__, want["class"], where)
        for name in want.get("is_a", []):
            t.assertTrue(isinstance(e, getattr(errors, name)), "%s is not a %s" % (where, name))
        if "type" in want:
            t.assertEqual(e.type, want["type"], where)
        if "type_prefix" in want:
            t.assertTrue((e.type or "").startswith(want["type_prefix"]), where)
        if "grpc_code" in want:
            t.assertEqual(e.code.name if e.code else None, want["grpc_code"], where)
        if "http_status" in want:
            t.assertEqual(e.http_status, want["http_status"], where)
        if "title" in want:
            t.assertEqual(e.title, want["title"], where)
        if "message_contains" in want:
            t.assertIn(want["message_contains"].lower(), (e.message or "").lower(), where)
        if "retry_delay_min" in want:
            t.assertIsNotNone(e.retry_delay, where)
            t.assertGreaterEqual(e.retry_delay, want["retry_delay_min"], where)

    # --- ops -----------------------------------------------------------------

    def op_call(self, step, expect):
        resource = self.client(step).resource(step["resource"])
        action = getattr(resource, step["action"])
        options = dict(self.sub(step.get("options", {})))
        if "timeout" in step:
            options["timeout"] = step["timeout"]
        return action(*self.sub(step.get("args", [])), params=self.sub(step.get("params")),
                      options=options or None)

    def op_create_many(self, step, expect):
        resource = self.client(step).resource(step["resource"])
        action = getattr(resource, step.get("action", "create"))

        def create(i):
            return action(self.sub(step["params"], {"i": i}))

        with concurrent.futures.ThreadPoolExecutor(step.get("parallel", 1)) as pool:
            return list(pool.map(create, range(step["count"])))

    def op_list(self, step, expect):
        resource = self.client(step).resource(step["resource"])
        action = getattr(resource, step.get("action", "list"))
        args, params = self.sub(step.get("args", [])), self.sub(step.get("params"))
        items = [u.to_dict() for u in action(*args, params).auto_paging_iter()]
        page = action(*args, params)
        first, pages, manual = len(page), 1, len(page)
        while page.has_next_page:
            page.load_next_page()
            pages += 1
            manual += len(page)
        self.t.assertEqual(manual, len(items), "manual and auto paging disagree")
        return {"items": items, "count": len(items), "pages": pages, "first_page_count": first}

    def op_upload_file(self, step, expect):
        path = self.local_file(self.content(step["content"]))
        reports = []
        kwargs = {"progress": lambda done, total: reports.append((done, total))} \
            if step.get("progress") else {}
        model = self.client(step).upload_file(path, self.sub(step["remote"]),
                                              mkdir_parents=step.get("mkdir_parents", False),
                                              **kwargs)
        return _Result(model, progress=reports)

    def op_download_file(self, step, expect):
        path = os.path.join(self.tmp.name, "download-" + uuid.uuid4().hex)
        reports = []
        kwargs = {"progress": lambda done, total: reports.append((done, total))} \
            if step.get("progress") else {}
        model = self.client(step).download_file(self.sub(step["remote"]), path, **kwargs)
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
        return _Result(model, bytes=data, progress=reports)

    def op_resumable_upload(self, step, expect):
        """start; a first stream of first_bytes without finishing; query; a new
        handle by upload_id resumes from the persisted offset and commits."""
        client = self.client(step)
        data = self.content(step["content"])
        path = self.local_file(data)
        up = client.start_resumable_upload(self.sub(step["remote"]),
                                           mkdir_parents=step.get("mkdir_parents", False),
                                           expected_size=len(data))
        first = up.upload(path, offset=0, length=step["first_bytes"], finish=False)
        t = self.t
        t.assertFalse(first.complete)
        t.assertIsNone(first.file)
        status = up.query()
        t.assertEqual(status.persisted_size, first.persisted_size)
        t.assertFalse(status.complete)
        again = client.resumable_upload(up.upload_id)  # e.g. after a restart
        reports = []
        done = again.resume(path, progress=lambda at, total: reports.append((at, total)))
        t.assertTrue(done.complete)
        t.assertLessEqual(reports[0][0] - status.persisted_size, 1 << 20)
        t.assertEqual(reports[-1], (len(data), len(data)))
        t.assertTrue(again.query().complete)
        return _Result(done.file, persisted_size=status.persisted_size)

    def op_resumable_cancel(self, step, expect):
        """start; send some data without finishing; cancel; query (NotFoundError)."""
        client = self.client(step)
        data = self.content(step["content"])
        up = client.start_resumable_upload(self.sub(step["remote"]), mkdir_parents=True)
        up.upload(data, offset=0, finish=False)
        up.cancel()
        return up.query()

    def op_open_write(self, step, expect):
        client = self.client(step)
        mode = step["mode"]
        if mode == "w":
            pieces = self.sub(step["text"])
        else:
            data = self.content(step["content"])
            sizes, pieces, pos = itertools.cycle(step["write_sizes"]), [], 0
            while pos < len(data):
                n = next(sizes)
                pieces.append(data[pos:pos + n])
                pos += n
        remote = self.sub(step["remote"])
        kwargs = {"mkdir_parents": step.get("mkdir_parents", False)}
        if step.get("abort"):
            with self.t.assertRaises(_Abandon):
                with client.open(remote, mode, **kwargs) as f:
                    for p in pieces:
                        f.write(p)
                    raise _Abandon()
            return None
        with client.open(remote, mode, **kwargs) as f:
            for p in pieces:
                f.write(p)
        return f.file

    def op_open_read(self, step, expect):
        with self.client(step).open(self.sub(step["remote"]), step["mode"]) as f:
            data = f.read()
        return {"text": data} if step["mode"] == "r" else {"bytes": data}

    def op_list_for(self, step, expect):
        return [entry.display_name for entry in self.client(step).list_for(self.sub(step["path"]))]

    def op_download_cancel(self, step, expect):
        f = self.client(step).open(self.sub(step["remote"]), "rb")
        self.t.assertEqual(len(f.read(step["read_bytes"])), step["read_bytes"])
        f.cancel()
        try:
            f.read()
        finally:
            # Checked here because the read is expected to raise.
            self.t.assertLess(f.raw.bytes_received, expect.get("max_bytes_received", 1 << 62))
            f.close()
        return {"bytes_received": f.raw.bytes_received}

    def op_inject_fault(self, step, expect):
        return harness.emulator_control(self.env.base_url, self.env.key, "faults", self.sub(step["rule"]))


class _Abandon(Exception):
    """Raised inside an open() block to abandon the write."""


class _Result(dict):
    """A model plus extra facts (bytes read) for the checks."""

    def __init__(self, model, **extra):
        super().__init__(extra)
        self.model = model

    def to_dict(self):
        return self.model.to_dict()


class ScenarioTest(unittest.TestCase):
    env = None

    @classmethod
    def setUpClass(cls):
        cls.env = Env(SCENARIO, ARGS.bin)

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            cls.env.stop()


_EXPECT_KEYS = {"fields", "none", "count", "pages", "first_page_count", "sorted_by", "unique",
                "names", "same_as", "text", "max_bytes_received", "error", "persisted_size",
                "progress_final", "progress_calls_min"}
_ERROR_KEYS = {"class", "is_a", "type", "type_prefix", "grpc_code", "http_status", "title",
               "message_contains", "retry_delay_min"}


def _validate(path, scenario):
    """A typo in the shared file must fail loudly, not pass as an ignored key."""
    problems = []
    names = set()
    for case in scenario["cases"]:
        if case["name"] in names:
            problems.append("case %s appears twice" % case["name"])
        names.add(case["name"])
        for n, step in enumerate(case["steps"]):
            where = "%s step %d" % (case["name"], n)
            if not hasattr(Case, "op_" + step.get("op", "")):
                problems.append("%s: unknown op %r" % (where, step.get("op")))
            if step.get("gateway", "default") not in scenario["gateways"]:
                problems.append("%s: unknown gateway %r" % (where, step["gateway"]))
            expect = step.get("expect", {})
            problems += ["%s: unknown expectation %r" % (where, k)
                         for k in set(expect) - _EXPECT_KEYS]
            problems += ["%s: unknown error expectation %r" % (where, k)
                         for k in set(expect.get("error", {})) - _ERROR_KEYS]
    if problems:
        raise SystemExit("%s:\n  %s" % (path, "\n  ".join(problems)))


def _load_scenario(path):
    with open(path, encoding="utf-8") as f:
        scenario = json.load(f)
    if scenario.get("format") != "files-gateway-client-scenario/1":
        raise SystemExit("%s: unknown format %r" % (path, scenario.get("format")))
    _validate(path, scenario)
    for case in scenario["cases"]:
        def test(self, case=case):
            Case(self.env, self, case).run()
        test.__doc__ = case.get("description")
        setattr(ScenarioTest, "test_" + case["name"], test)
    return scenario


SCENARIO = None

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the CMake build folder")
    parser.add_argument("--package",
                        help="folder holding the built files_gateway package (with _gen); "
                             "default: the installed one")
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO)
    ARGS, rest = parser.parse_known_args()
    if ARGS.package:
        harness.add_package_path(ARGS.package)
    SCENARIO = _load_scenario(ARGS.scenario)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
