"""Tests of the doc-test harness itself: a wrong doc line must fail it.

Run with /usr/bin/python3 -m pytest (ctest: doc_commands_harness_test).
The parsing and comparison tests need nothing; the end-to-end ones run the
harness on small docs in its sandbox and are skipped where the machine
allows no namespaces.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run_doc_commands as harness  # noqa: E402


def plan_of(text, name="doc.md"):
    """Parses and classifies one doc held in `text`; returns its steps."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        docs = {name: harness.parse_doc(path, name)}
        return harness.classify(docs)[name]


def commands_of(steps):
    out = []
    for kind, payload in steps:
        if kind == "block":
            out += payload.commands
        else:
            out.append(payload)
    return out


class ParseTest(unittest.TestCase):

    def test_console_commands_output_and_echo_status(self):
        steps = plan_of("""\
            ```console
            $ statesctl validate 'a b' \\
                --json
            invalid
            $ echo $?
            1

            $ statesctl compat a.b a.c
            ```
            """)
        commands = commands_of(steps)
        self.assertEqual([c.line for c in commands], [2, 5, 8])
        self.assertIn("--json", commands[0].text)
        self.assertEqual(commands[0].expected_output, ["invalid"])
        self.assertEqual(commands[0].expected_exit, 1)
        self.assertEqual(commands[1].expected_output, ["1"])
        self.assertIsNone(commands[2].expected_output)
        self.assertEqual(commands[2].expected_exit, 0)

    def test_sh_block_skips_comments_and_joins_continuations(self):
        steps = plan_of("""\
            ```sh
            # a comment
            cmake --install build \\
              --prefix /opt/x   # trailing comment
            ```
            """)
        commands = commands_of(steps)
        self.assertEqual(len(commands), 1)
        self.assertEqual(commands[0].short(),
                         "cmake --install build --prefix /opt/x # trailing "
                         "comment")

    def test_block_of_unknown_language_fails(self):
        with self.assertRaisesRegex(harness.DocError, "does not know"):
            plan_of("```\nmake serve\n```\n")

    def test_unclassified_inline_command_fails(self):
        with self.assertRaisesRegex(harness.DocError, "neither run nor"):
            plan_of("Run `build/service/statesd --listen=0.0.0.0:1` now.\n")

    def test_inline_command_covered_by_a_block_passes(self):
        steps = plan_of("""\
            Run `statesctl list pytorch` to list.

            ```console
            $ build/client/statesctl list pytorch/resnet18
            ```
            """)
        self.assertEqual(len(commands_of(steps)), 1)

    def test_synopsis_and_tool_name_are_listed_not_run(self):
        steps = plan_of("Use `statesctl delete NAME [--expected_revision=N]`"
                        " or `make test`.\n")
        modes = sorted(c.mode for c in commands_of(steps))
        self.assertEqual(modes, ["reference", "synopsis"])

    def test_skip_needs_a_reason(self):
        with self.assertRaisesRegex(harness.DocError, "reason"):
            plan_of("<!-- doc-test: skip -->\n```sh\nmake bench\n```\n")

    def test_skip_of_one_command_with_reason(self):
        steps = plan_of("""\
            <!-- doc-test: skip `make test` (runs every test) -->
            ```sh
            make serve
            make test
            ```
            """)
        commands = commands_of(steps)
        self.assertEqual([c.mode for c in commands], ["run", "skip"])
        self.assertEqual(commands[1].reason, "runs every test")

    def test_directive_that_matches_nothing_fails(self):
        with self.assertRaisesRegex(harness.DocError, "matches no command"):
            plan_of("<!-- doc-test: skip `make bench` (slow) -->\n"
                    "```sh\nmake serve\n```\n")

    def test_unknown_directive_fails(self):
        with self.assertRaisesRegex(harness.DocError, "unknown"):
            plan_of("<!-- doc-test: ignore -->\n```sh\nmake serve\n```\n")


class CompareTest(unittest.TestCase):

    def test_exact_lines_with_blank_runs_collapsed(self):
        self.assertTrue(harness.output_matches(
            ["NAME   REVISION", "a.b.c         4"],
            ["NAME REVISION", "a.b.c 4   "]))

    def test_a_wrong_value_fails(self):
        self.assertFalse(harness.output_matches(
            ["created pytorch.resnet18.cls10.cifar10 rev 11"],
            ["created pytorch.resnet18.cls10.cifar10 rev 12"]))

    def test_missing_and_extra_lines_fail(self):
        self.assertFalse(harness.output_matches(["a", "b"], ["a"]))
        self.assertFalse(harness.output_matches(["a"], ["a", "b"]))

    def test_ellipsis_line_matches_any_lines(self):
        expected = ["first", "...", "last"]
        self.assertTrue(harness.output_matches(expected, ["first", "last"]))
        self.assertTrue(harness.output_matches(
            expected, ["first", "x", "y", "last"]))
        self.assertFalse(harness.output_matches(expected, ["first", "x"]))

    def test_ellipsis_inside_a_line(self):
        self.assertTrue(harness.output_matches(
            ["file:///.../x.pt"], ["file:///home/me/x.pt"]))

    def test_sizes_and_digests_match_any_value(self):
        self.assertTrue(harness.output_matches(
            ["x 110.4 MiB e26187c49028 u"], ["x 310 B 0123456789ab u"]))
        self.assertFalse(harness.output_matches(
            ["x 110.4 MiB e26187c49028 u"], ["x 310 B 0123456789a u"]))


def namespaces_available():
    probe = ["unshare", "--net", "--mount", "true"]
    if os.geteuid() != 0:
        probe[1:1] = ["--user", "--map-root-user"]
    try:
        return subprocess.run(probe, capture_output=True).returncode == 0
    except OSError:
        return False


@unittest.skipUnless(namespaces_available(), "no namespaces on this machine")
class SandboxTest(unittest.TestCase):

    def run_harness(self, doc):
        with tempfile.TemporaryDirectory() as source, \
                tempfile.TemporaryDirectory() as build:
            with open(os.path.join(source, "doc.md"), "w") as f:
                f.write(textwrap.dedent(doc))
            result = subprocess.run(
                [sys.executable, os.path.join(HERE, "run_doc_commands.py"),
                 "--source-dir", source, "--build-dir", build, "doc.md"],
                capture_output=True, text=True, timeout=60)
            return result.returncode, result.stdout + result.stderr

    def test_matching_doc_passes_in_the_sandbox(self):
        status, output = self.run_harness("""\
            ```console
            $ echo "$HOME" && ls ~/mozuma-states | head -1
            /home/me
            README.txt
            $ python3 -c 'import socket; socket.create_server(("127.0.0.1", 50051))'
            $ false
            $ echo $?
            1
            ```
            """)
        self.assertEqual(status, 0, output)
        self.assertIn("4 commands ran as written, 0 skipped, 0 failed",
                      output)

    def test_wrong_output_fails(self):
        status, output = self.run_harness("""\
            ```console
            $ echo rev 11
            rev 12
            ```
            """)
        self.assertEqual(status, 1, output)
        self.assertIn("printed other output than the doc shows", output)

    def test_failing_command_fails(self):
        status, output = self.run_harness("```sh\nfalse\n```\n")
        self.assertEqual(status, 1, output)
        self.assertIn("exited 1, the doc expects 0", output)

    def test_server_and_second_terminal(self):
        status, output = self.run_harness("""\
            <!-- doc-test: server `/usr/bin/python3 -m http.server` -->
            ```sh
            /usr/bin/python3 -m http.server 50051 --bind 127.0.0.1
            ```

            <!-- doc-test: background `tail -f` -->
            ```console
            $ echo start > notes.txt
            $ tail -f notes.txt
            start
            added
            $ echo added >> notes.txt
            $ /usr/bin/python3 -c 'import urllib.request as r; print(r.urlopen("http://127.0.0.1:50051/notes.txt").read().decode().strip())'
            start
            added
            ```
            """)
        self.assertEqual(status, 0, output)
        self.assertIn("(server)", output)
        self.assertIn("second terminal, stopped with Ctrl-C", output)

    def test_second_terminal_with_other_output_fails(self):
        status, output = self.run_harness("""\
            <!-- doc-test: background `tail -f` -->
            ```console
            $ echo start > notes.txt
            $ tail -f notes.txt
            start
            added
            $ echo other >> notes.txt
            ```
            """)
        self.assertEqual(status, 1, output)
        self.assertIn("(in a second terminal) printed other output", output)

    def test_writes_to_the_repository_do_not_survive(self):
        with tempfile.TemporaryDirectory() as source, \
                tempfile.TemporaryDirectory() as build:
            with open(os.path.join(source, "doc.md"), "w") as f:
                f.write("```sh\nmkdir -p gen && touch gen/x\n```\n")
            result = subprocess.run(
                [sys.executable, os.path.join(HERE, "run_doc_commands.py"),
                 "--source-dir", source, "--build-dir", build, "doc.md"],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stdout)
            self.assertFalse(os.path.exists(os.path.join(source, "gen")))


if __name__ == "__main__":
    unittest.main()
