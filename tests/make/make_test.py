"""The top-level Makefile as a user meets it: a `make build` or `make serve`
with nothing to rebuild prints nothing of its own, so that statesd's startup
line is the first line of `make serve`.

Runs `make` in the repository against the build tree ctest runs in
(MOZUMA_STATES_BUILD_DIR), which `make test` has just built: both builds
here have nothing to do. ctest runs this test alone (RUN_SERIAL), since a
build that did have work to do would relink binaries other tests run.
"""

import os
import signal
import subprocess
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("MOZUMA_STATES_BUILD_DIR",
                           os.path.join(REPO, "build"))
TIMEOUT_S = 240


def make(*args, timeout=TIMEOUT_S):
    """Runs make in the repository: (exit code, stdout and stderr lines)."""
    result = subprocess.run(
        ["make", "BUILD_DIR=" + BUILD_DIR] + list(args), cwd=REPO,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    return result.returncode, result.stdout.splitlines()


class NoOpBuildTest(unittest.TestCase):

    def test_a_build_with_nothing_to_do_prints_at_most_two_lines(self):
        code, _ = make("build")  # brings the tree up to date, if it was not
        self.assertEqual(code, 0)
        code, lines = make("build")
        self.assertEqual(code, 0, lines)
        self.assertLessEqual(len(lines), 2, "\n".join(lines))
        for line in lines:
            self.assertNotIn("Entering directory", line)
            self.assertNotIn("Built target", line)

    def test_serve_prints_the_startup_line_first(self):
        self.assertEqual(make("build")[0], 0)
        with tempfile.TemporaryDirectory() as directory:
            db = os.path.join(directory, "states.db")
            process = subprocess.Popen(
                ["make", "BUILD_DIR=" + BUILD_DIR, "serve",
                 "LISTEN=127.0.0.1:0", "DB=" + db],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, start_new_session=True)
            try:
                first = process.stdout.readline()
            finally:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                process.stdout.close()
            self.assertTrue(
                first.startswith("statesd: serving "), repr(first))
            self.assertIn("store: sqlite " + db + " ", first)

    def test_serve_keeps_the_repository_store_from_any_directory(self):
        # A dry run prints the commands: statesd gets an absolute --db in
        # the repository's var/, wherever make is run from.
        with tempfile.TemporaryDirectory() as elsewhere:
            result = subprocess.run(
                ["make", "-C", REPO, "-n", "serve", "BUILD_DIR=" + BUILD_DIR],
                cwd=elsewhere, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                timeout=60, check=False)
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("--db=" + os.path.join(REPO, "var", "states.db"),
                      result.stdout)


if __name__ == "__main__":
    unittest.main()
