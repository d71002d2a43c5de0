#!/usr/bin/python3
"""Runs every command line of the docs as written, and checks what they show.

Usage: run_doc_commands.py --source-dir REPO --build-dir BUILD [--list]
                           [--verbose] [FILE...]

FILEs default to README.md, docs/*.md, examples/README.md,
client/python/README.md and tests/node/README.md (relative to REPO).

What is a command
-----------------
* A ```console block: each line starting with `$ ` (plus the lines after a
  line ending in `\\`) is a command; the lines after it, up to the next `$ `
  line, are the output the doc shows (trailing blank lines dropped).
* A ```sh or ```bash block: each line that is not blank and not a `#`
  comment (plus its `\\` continuation lines) is a command; the doc shows no
  output.
* An inline `code span` whose first word is a program (make, cmake, buf,
  statesctl, build/..., scripts/... see PROGRAMS) and that has arguments.
  It is covered when a command of a block (in any doc) starts with it, a
  synopsis when it holds a placeholder (NAME, [--flag=N], X.Y.Z), and
  otherwise needs an `inline` directive. An env assignment alone
  (`PYTHONPATH=...`) is no command.
* Blocks in a programming or configuration language (python, cpp, cmake, js,
  yaml, rust, toml...) are code, not commands: listed, not run, unless a
  directive says what to do with them. A block of any other language, or of
  none, fails the test, as does an inline command nobody classified: a new
  doc line cannot go untested silently.

Directives
----------
An HTML comment `<!-- doc-test: D; D; ... -->` before a block (or before the
paragraph of an inline command) holds directives, each with its reason in
parentheses where it skips something:

* `skip (reason)`: the whole next block is not run.
* `skip `PREFIX` (reason)`: the next block's commands starting with PREFIX
  are not run.
* `server `PREFIX``: the command starting with PREFIX (in the next block,
  or, if none, PREFIX itself, at this point) is started in the background as
  the doc's server, in a terminal of its own, and waited for until
  127.0.0.1:50051 accepts connections; it gets Ctrl-C (SIGINT) when the file
  ends and must then stop: exit 0, or die of that SIGINT (make does so
  once the statesd it runs has stopped).
* `background `PREFIX``: that command of the next block runs in a second
  terminal: the harness waits until its output has been quiet for half a
  second, runs the block's other commands, then waits for it to show what
  the doc shows, stops it with Ctrl-C, and compares its output. It must
  still run when Ctrl-C comes, and then stop (exit 0 or 130, or die of the
  SIGINT).
* `exit `PREFIX` N`: that command must exit with status N (default 0; a
  following `$ echo $?` line sets it too).
* `cwd project`: the next block runs in a new project folder,
  ~/project, holding `path/to/mozuma-states` (a link to the repository).
* `file NAME`: the next block is written to ~/project/NAME.
* `protoc-check`: the next block (a build.rs) is checked with protoc: the
  string lists of its `compile_protos(&[files], &[includes])` call must
  compile from ~/project.
* `inline `PREFIX` run`, `inline `PREFIX` skip (reason)`: what to do with an
  inline command starting with PREFIX (run: at its place in the doc).

The sandbox
-----------
Each doc file runs in a fresh sandbox, so that the commands run exactly as
written, with nothing rewritten:

* a private network namespace: 127.0.0.1:50051, the address the docs use, is
  always free there, and nothing leaves the machine;
* a private mount and pid namespace: the repository is overlaid (commands
  may write into it, e.g. `var/states.db` or `gen/`; the writes vanish at
  the end), `build/` in it is the build dir under test, /usr/local is
  overlaid, /home, /opt and /srv are empty tmpfs, HOME is /home/me, and every
  process left is killed with the namespace;
* fixtures: ~/mozuma-states holds ten small .pt files named like MoZuMa's
  published states and a README.txt; /srv/states/resnet18.pt exists;
* one bash session per file (variables and `cd` persist, as in a terminal),
  its output on a pseudo-terminal, LANG=C.UTF-8, PATH the standard one plus
  /opt/mozuma-states/bin first, build/client, build/service and
  tools/node_modules/.bin (buf) last, so that a bare `statesctl` is the
  installed one if a doc installed it, else the build's. A command ending
  in `&` is given until its first line of output, as a person would wait.

It needs unshare(1) and either root or unprivileged user namespaces; without
them it exits 77 (ctest: skipped) and says so.

Output comparison
-----------------
Where a console block shows output, the actual output (stdout and stderr as
a terminal shows them) must match it line by line, after both sides are
normalised: runs of blanks become one space, trailing blanks go, a size such
as `110.4 MiB` or `12 B` matches any size, and a run of 12 or more
lowercase hex digits matches any run of the same length (digests). A line
`...` matches any number of lines, and `...` inside a line any text.
"""

import argparse
import fcntl
import glob
import os
import pty
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

DEFAULT_FILES = ["README.md", "docs/*.md", "examples/README.md",
                 "client/python/README.md", "tests/node/README.md"]
SERVER_ADDRESS = ("127.0.0.1", 50051)
HOME = "/home/me"
PROJECT = HOME + "/project"
SKIP_EXIT = 77
VERBOSE = False   # --verbose: print the output of the commands that pass
COMMAND_TIMEOUT = 60.0
SERVER_TIMEOUT = 120.0
CODE_LANGUAGES = {"python", "py", "cpp", "c++", "cc", "c", "cmake", "js",
                  "javascript", "mjs", "ts", "yaml", "yml", "rust", "rs",
                  "toml", "proto", "protobuf", "json", "go", "java", "text",
                  "ini"}
SHELL_LANGUAGES = {"sh", "bash", "shell"}
PROGRAMS = {"make", "cmake", "ctest", "buf", "$BUF", "grpcurl", "sqlite3",
            "pkg-config", "node", "npm", "protoc", "python3",
            "/usr/bin/python3", "pip", "pip3", "statesctl", "statesd",
            "apt-get", "apt", "c++", "g++", "git", "curl", "sha256sum",
            "cargo"}
PROGRAM_PREFIXES = ("build/", "scripts/", "tools/", "./", "build-example/")

# MoZuMa's published states (see shared/reference/MOZUMA.md); sorted, so
# that `statesctl import` registers them as revisions 1 to 10.
FIXTURE_STATES = [
    "pytorch.arcface.insightface",
    "pytorch.clip-image-rn50.clip",
    "pytorch.clip-text-rn50.clip",
    "pytorch.densenet161.cls1000.imagenet",
    "pytorch.densenet161.cls365.places365",
    "pytorch.facenet-mtcnn.facenet",
    "pytorch.magface.magface",
    "pytorch.resnet18.cls1000.imagenet",
    "pytorch.sbert-distiluse-base-multilingual.cased-v2",
    "pytorch.vinvl-vg-x152c4.vinvl",
]


class DocError(Exception):
    """A doc line that is wrong, or that the harness cannot classify."""


# --------------------------------------------------------------------------
# Parsing


class Command:
    """One command line of a doc, with what the doc expects of it."""

    def __init__(self, doc, line, text, block):
        self.doc = doc
        self.line = line
        self.text = text              # as the shell gets it (continuations kept)
        self.block = block            # the Block, or None for an inline command
        self.expected_output = None   # list of lines, or None: not compared
        self.expected_exit = 0
        # run, skip, server, background; inline only: synopsis, reference
        self.mode = "run"
        self.reason = ""

    def where(self):
        return "%s:%d" % (self.doc, self.line)

    def short(self):
        one = " ".join(self.text.replace("\\\n", " ").split())
        return one if len(one) <= 100 else one[:97] + "..."


class Block:
    """One fenced block of a doc, with its directives and commands."""

    def __init__(self, doc, line, language, body, directives):
        self.doc = doc
        self.line = line
        self.language = language
        self.body = body
        self.directives = directives
        self.commands = []
        self.kind = None      # commands, code, file, protoc-check, skip
        self.reason = ""
        self.cwd = None


# A directive comment starts its line; one quoted in a sentence is text.
DIRECTIVE_RE = re.compile(r"^[ \t]*<!--\s*doc-test:(.*?)-->", re.S | re.M)
FENCE_RE = re.compile(r"^(\s*)```(\S*)\s*$")


def parse_directives(text, where):
    """Splits `a; b (x; y); c` at top-level semicolons into directive tuples."""
    parts, depth, tick, cur = [], 0, False, ""
    for ch in text:
        if ch == "`":
            tick = not tick
        elif not tick and ch == "(":
            depth += 1
        elif not tick and ch == ")":
            depth -= 1
        if ch == ";" and depth == 0 and not tick:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    directives = []
    for part in parts:
        part = " ".join(part.split())
        if not part:
            continue
        m = re.match(r"^(\w[\w-]*)\s*(?:`([^`]*)`)?\s*(.*)$", part)
        if not m:
            raise DocError("%s: cannot read doc-test directive %r" % (where, part))
        name, prefix, rest = m.group(1), m.group(2), m.group(3).strip()
        reason = ""
        rm = re.match(r"^(.*?)\s*\((.*)\)\s*$", rest)
        if rm:
            rest, reason = rm.group(1).strip(), rm.group(2).strip()
        known = {"skip", "server", "background", "exit", "cwd", "file",
                 "protoc-check", "inline"}
        if name not in known:
            raise DocError("%s: unknown doc-test directive %r" % (where, name))
        if name == "skip" and not reason:
            raise DocError("%s: a skip needs its reason in parentheses: %r" %
                           (where, part))
        if name == "inline" and rest.split()[:1] == ["skip"] and not reason:
            raise DocError("%s: an inline skip needs its reason in parentheses: %r"
                           % (where, part))
        directives.append((name, prefix, rest, reason))
    return directives


def split_shell_lines(lines, start_line, prompt):
    """Yields (line number, command text, output lines) from a block body."""
    i = 0
    out = []
    while i < len(lines):
        raw = lines[i]
        if prompt:
            if not raw.startswith("$ "):
                i += 1
                continue
            text = raw[2:]
        else:
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                i += 1
                continue
            text = raw
        number = start_line + i
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text += "\n" + lines[i]
        i += 1
        output = []
        if prompt:
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            while output and not output[-1].strip():
                output.pop()
        out.append((number, text, output))
    return out


def inline_spans(text):
    """Yields (line number, span text) of inline code outside fenced blocks."""
    lines = text.split("\n")
    masked = []
    in_fence = False
    for line in lines:
        if FENCE_RE.match(line):
            in_fence = not in_fence
            masked.append("")
        else:
            masked.append("" if in_fence else line)
    joined = "\n".join(masked)
    joined = DIRECTIVE_RE.sub(lambda m: "\n" * m.group(0).count("\n"), joined)
    for m in re.finditer(r"(?<!`)`([^`]+)`(?!`)", joined):
        yield joined.count("\n", 0, m.start()) + 1, " ".join(m.group(1).split())


def first_program(words):
    """The program word of a command's words, after VAR=value assignments."""
    for word in words:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            continue
        return word
    return None


def is_program(word):
    return word is not None and (word in PROGRAMS or
                                 word.startswith(PROGRAM_PREFIXES))


def normal_command(text):
    """A command reduced for prefix matching: one line, program basenames."""
    words = " ".join(text.replace("\\\n", " ").split()).split(" ")
    words = [os.path.basename(w) if w.startswith(("build/", "./")) else w
             for w in words]
    if words and words[0] == "$BUF":
        words[0] = "buf"
    if words and words[0].endswith("/buf"):
        words[0] = "buf"
    return " ".join(words)


def is_synopsis(span):
    try:
        words = shlex.split(span)
    except ValueError:
        words = span.split()
    for word in words[1:]:
        bare = word.strip("[]=.-")
        if "[" in word or re.fullmatch(r"(?:--\w+=)?[A-Z][A-Z_.]*", word.strip("[]")):
            return True
        if re.fullmatch(r"[A-Z](?:\.[A-Z])+", bare):
            return True
    return False


def parse_doc(path, rel):
    """Parses one doc into an ordered list of Blocks and inline Commands."""
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    items = []
    pending = []          # directives waiting for their block
    inline_directives = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("<!--") and "doc-test:" in line:
            j = i
            chunk = line
            while "-->" not in chunk and j + 1 < len(lines):
                j += 1
                chunk += "\n" + lines[j]
            m = DIRECTIVE_RE.search(chunk)
            if not m:
                raise DocError("%s:%d: unterminated doc-test comment" % (rel, i + 1))
            directives = parse_directives(m.group(1), "%s:%d" % (rel, i + 1))
            for d in directives:
                if d[0] == "inline":
                    inline_directives.append((i + 1, d))
                elif d[0] == "server" and not pending_block_follows(lines, j + 1):
                    items.append(("server-directive", i + 1, d))
                else:
                    pending.append(d)
            i = j + 1
            continue
        m = FENCE_RE.match(line)
        if m:
            indent, language = m.group(1), m.group(2).lower()
            j = i + 1
            body = []
            while j < len(lines) and not (lines[j].strip() == "```"):
                body.append(lines[j][len(indent):] if lines[j].startswith(indent)
                            else lines[j])
                j += 1
            block = Block(rel, i + 1, language, body, pending)
            pending = []
            items.append(("block", i + 1, block))
            i = j + 1
            continue
        if pending and line.strip():
            raise DocError("%s:%d: doc-test directives %s are not followed by a "
                           "code block" % (rel, i + 1, pending))
        i += 1
    for number, span in inline_spans(text):
        items.append(("inline", number, span))
    items.sort(key=lambda item: item[1])
    return items, inline_directives


def pending_block_follows(lines, j):
    while j < len(lines) and not lines[j].strip():
        j += 1
    return j < len(lines) and FENCE_RE.match(lines[j]) is not None


def prefix_matches(prefix, command_text):
    return normal_command(command_text).startswith(normal_command(prefix))


def classify(docs):
    """Turns parsed docs into a plan: per doc, the ordered steps."""
    plans = {}
    block_commands = []
    for rel, (items, _) in docs.items():
        for kind, _, payload in items:
            if kind == "block" and payload.language in {"console"} | SHELL_LANGUAGES:
                prompt = payload.language == "console"
                for number, text, _ in split_shell_lines(
                    payload.body, payload.line + 1, prompt):
                    block_commands.append(normal_command(text))
    for rel, (items, inline_directives) in docs.items():
        steps = []
        for kind, number, payload in items:
            if kind == "server-directive":
                _, prefix, _, _ = payload
                command = Command(rel, number, prefix, None)
                command.mode = "server"
                steps.append(("command", command))
            elif kind == "block":
                steps.append(("block", classify_block(payload)))
            else:
                command = classify_inline(rel, number, payload, inline_directives,
                                          block_commands)
                if command is not None:
                    steps.append(("command", command))
        plans[rel] = steps
    return plans


def classify_block(block):
    for name, prefix, rest, reason in block.directives:
        if name == "skip" and prefix is None:
            block.kind, block.reason = "skip", reason
        elif name == "file":
            block.kind, block.reason = "file", rest
        elif name == "protoc-check":
            block.kind = "protoc-check"
        elif name == "cwd":
            if rest != "project":
                raise DocError("%s:%d: only `cwd project` is known" %
                               (block.doc, block.line))
            block.cwd = PROJECT
    if block.kind:
        return block
    language = block.language
    if language in {"console"} | SHELL_LANGUAGES:
        block.kind = "commands"
        prompt = language == "console"
        parsed = split_shell_lines(block.body, block.line + 1, prompt)
        if prompt and not parsed:
            raise DocError("%s:%d: a console block without a `$ ` command" %
                           (block.doc, block.line))
        for index, (number, text, output) in enumerate(parsed):
            command = Command(block.doc, number, text, block)
            if prompt and output:
                command.expected_output = output
            if (index + 1 < len(parsed) and parsed[index + 1][1].strip() ==
                "echo $?" and parsed[index + 1][2]):
                command.expected_exit = int(parsed[index + 1][2][0].strip())
            block.commands.append(command)
        used = set()
        for name, prefix, rest, reason in block.directives:
            if name not in ("skip", "server", "background", "exit"):
                continue
            matched = [c for c in block.commands if prefix_matches(prefix, c.text)]
            if not matched:
                raise DocError("%s:%d: directive %s `%s` matches no command of the "
                               "block" % (block.doc, block.line, name, prefix))
            used.add((name, prefix))
            for command in matched:
                if name == "skip":
                    command.mode, command.reason = "skip", reason
                elif name == "server":
                    command.mode = "server"
                elif name == "background":
                    command.mode, command.reason = "background", reason
                else:
                    command.expected_exit = int(rest)
        return block
    if language in CODE_LANGUAGES:
        block.kind = "code"
        return block
    raise DocError("%s:%d: a ``` block in language %r: the harness does not "
                   "know whether it holds commands; give it a language or a "
                   "doc-test directive" % (block.doc, block.line,
                                           language or "(none)"))


def classify_inline(rel, number, span, inline_directives, block_commands):
    words = span.split()
    program = first_program(words)
    if program is None or len(words) < 2 or not is_program(program):
        return None
    if program != words[0] and len([w for w in words if "=" not in w]) == 0:
        return None
    for _, (name, prefix, rest, reason) in inline_directives:
        if normal_command(span).startswith(normal_command(prefix)):
            command = Command(rel, number, span, None)
            action = rest.split()[:1]
            if action == ["run"]:
                return command
            if action == ["skip"]:
                command.mode, command.reason = "skip", reason
                return command
            raise DocError("%s:%d: inline directive for `%s` says neither run nor "
                           "skip" % (rel, number, prefix))
    if (len(words) == 2 and words[0] in PROGRAMS and
        re.fullmatch(r"[a-z][a-z-]*", words[1])):
        command = Command(rel, number, span, None)
        command.mode, command.reason = "reference", "names a tool, not a command"
        return command
    normal = normal_command(span)
    if any(c.startswith(normal) for c in block_commands):
        return None   # covered: a block command starts with it
    if is_synopsis(span):
        command = Command(rel, number, span, None)
        command.mode, command.reason = "synopsis", "a synopsis with placeholders"
        return command
    raise DocError("%s:%d: inline command `%s` is neither run nor skipped: add "
                   "<!-- doc-test: inline `%s` run --> or ... skip (reason) -->"
                   % (rel, number, span, span))


# --------------------------------------------------------------------------
# Output comparison

SIZE_RE = re.compile(r"\b\d+(?:\.\d+)? (?:B|KiB|MiB|GiB|TiB)\b")
HEX_RE = re.compile(r"\b[0-9a-f]{12,}\b")


def normalise(line):
    line = " ".join(line.split())
    line = SIZE_RE.sub("\x00SIZE\x00", line)
    line = HEX_RE.sub(lambda m: "\x00HEX%d\x00" % len(m.group(0)), line)
    return line


def line_pattern(expected):
    parts = normalise(expected).split("...")
    return ".*?".join(re.escape(p) for p in parts)


def output_matches(expected, actual):
    pattern = ""
    for line in expected:
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += line_pattern(line) + r"\n"
    text = "".join(normalise(l) + "\n" for l in actual)
    return re.fullmatch(pattern, text, re.S) is not None


# --------------------------------------------------------------------------
# The sandbox


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, **kwargs)


def bring_loopback_up():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifreq = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(sock, 0x8913, ifreq))[1]
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))
    finally:
        sock.close()


class Sandbox:
    """The mounts of one doc file's run; see the module docstring."""

    def __init__(self, source, build, scratch):
        self.source = source
        self.build = build
        self.scratch = scratch
        self.mounts = []

    def mount(self, argv, target):
        run(["mount"] + argv + [target])
        self.mounts.append(target)

    def overlay(self, lower, target, name):
        upper = os.path.join(self.scratch, name + "-upper")
        work = os.path.join(self.scratch, name + "-work")
        os.makedirs(upper)
        os.makedirs(work)
        options = "lowerdir=%s,upperdir=%s,workdir=%s" % (lower, upper, work)
        # redirect_dir lets a directory of the lower layer be renamed.
        if subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                           options + ",redirect_dir=on", target],
                          capture_output=True).returncode == 0:
            self.mounts.append(target)
        else:
            self.mount(["-t", "overlay", "overlay", "-o", options], target)

    def __enter__(self):
        # The build dir under test, reachable before the repository is overlaid.
        real_build = os.path.join(self.scratch, "build")
        os.makedirs(real_build)
        self.mount(["--bind", self.build], real_build)
        self.overlay(self.source, self.source, "repo")
        repo_build = os.path.join(self.source, "build")
        inside = os.path.commonpath([self.build, self.source]) == self.source
        if os.path.realpath(self.build) == os.path.realpath(repo_build):
            pass  # build/ itself, overlaid with the repository
        elif not os.path.lexists(repo_build):
            # A link, so that CMake, re-run by `make serve`, finds its cache
            # where it was made; a build dir outside the repository is
            # overlaid in place.
            if not inside:
                self.overlay(real_build, self.build, "build")
            os.symlink(self.build, repo_build)
        else:
            # The repository has a build/ of its own: moved aside, and
            # build/ links to the build dir under test. Where the overlay
            # cannot rename it, the build dir is overlaid on it instead; CMake
            # then refuses to re-configure it there (its cache names the
            # other path), which only a build dir older than its
            # CMakeLists.txt needs.
            try:
                os.rename(repo_build, repo_build + ".of-the-repository")
                os.symlink(self.build, repo_build)
            except OSError:
                self.overlay(real_build, repo_build, "build")
        self.overlay("/usr/local", "/usr/local", "usr-local")
        for target in ("/home", "/opt", "/srv"):
            os.makedirs(target, exist_ok=True)
            self.mount(["-t", "tmpfs", "tmpfs"], target)
        make_fixtures()
        return self

    def __exit__(self, *exc):
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-l", target], check=False)
        self.mounts = []


def make_fixtures():
    states = os.path.join(HOME, "mozuma-states")
    os.makedirs(states)
    for index, name in enumerate(FIXTURE_STATES):
        with open(os.path.join(states, name + ".pt"), "wb") as f:
            f.write(("%s weights\n" % name).encode() * (index + 1))
    with open(os.path.join(states, "README.txt"), "w") as f:
        f.write("MoZuMa states downloaded for the tour.\n")
    os.makedirs(os.path.join(PROJECT, "path", "to"))
    os.makedirs("/srv/states")
    with open("/srv/states/resnet18.pt", "wb") as f:
        f.write(b"resnet18 weights\n" * 64)


def kill_everything_else():
    me = os.getpid()
    for _ in range(3):
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        others = [p for p in pids if p != me]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.time() + 2
        while time.time() < deadline:
            try:
                os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            time.sleep(0.05)


# --------------------------------------------------------------------------
# Terminals


class Terminal:
    """A pseudo-terminal whose output a thread collects."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        attrs = termios.tcgetattr(self.slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 50, 160, 0, 0))
        self.slave_path = os.ttyname(self.slave)
        self.data = b""
        self.last = time.time()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.pump, daemon=True)
        self.thread.start()

    def pump(self):
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.data += chunk
                self.last = time.time()

    def size(self):
        with self.lock:
            return len(self.data)

    def text(self, start=0, end=None):
        with self.lock:
            data = self.data[start:end]
        return data.decode("utf-8", "replace").replace("\r", "")

    def wait_for(self, marker, start, limit):
        """Waits until `marker` has arrived after `start`; returns where."""
        deadline = time.time() + limit
        while True:
            with self.lock:
                found = self.data.find(marker, start)
            if found >= 0 or time.time() > deadline:
                return found if found >= 0 else self.size()
            time.sleep(0.01)

    def settle(self, quiet=0.15, limit=5.0):
        deadline = time.time() + limit
        while time.time() < deadline:
            with self.lock:
                idle = time.time() - self.last
            if idle >= quiet:
                return
            time.sleep(0.05)


def base_env(source):
    # Programs the docs name bare (statesd, statesctl, buf) are found where
    # a user would have them: installed under /opt/mozuma-states if a doc
    # installed them there, else from build/; buf from tools/.
    path = ":".join(["/opt/mozuma-states/bin", "/usr/local/sbin",
                     "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
                     os.path.join(source, "build", "client"),
                     os.path.join(source, "build", "service"),
                     os.path.join(source, "tools", "node_modules", ".bin")])
    env = {"HOME": HOME, "USER": "me", "LOGNAME": "me", "PATH": path,
           "LANG": "C.UTF-8", "TERM": "dumb", "SHELL": "/bin/bash"}
    for key in ("CCACHE_DIR", "CMAKE_CXX_COMPILER_LAUNCHER"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


class Shell:
    """One persistent bash session whose commands print to a Terminal."""

    def __init__(self, source, scratch):
        self.terminal = Terminal()
        self.scratch = scratch
        self.count = 0
        self.proc = subprocess.Popen(
            ["/bin/bash", "--norc", "--noprofile"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=source,
            env=base_env(source), start_new_session=True)

    def send(self, script):
        self.proc.stdin.write(script.encode())
        self.proc.stdin.flush()

    def run(self, text, timeout=COMMAND_TIMEOUT):
        """Runs one command; returns (exit status or None on timeout, output).

        After the command, bash writes an end marker to the same terminal,
        so every byte the command wrote comes before it: the output is what
        lies between the previous marker and this one. (A program left in
        the background may write later; as in a terminal, that shows up in
        the output of the commands after it.)
        """
        self.started = time.time()
        self.count += 1
        rc_file = os.path.join(self.scratch, "rc.%d" % self.count)
        marker = b"\036doc-test-end-%d\036" % self.count
        start = self.terminal.size()
        background = text.rstrip().endswith("&")
        self.send("{ %s\n} >%s 2>&1 </dev/null\n__doc_rc=$?; "
                  "printf '%s' >%s; echo $__doc_rc >%s.tmp; mv %s.tmp %s; "
                  "(exit $__doc_rc)\n" %
                  (text, self.terminal.slave_path,
                   marker.decode().replace("\036", "\\036"),
                   self.terminal.slave_path, rc_file, rc_file, rc_file))
        deadline = time.time() + timeout
        while not os.path.exists(rc_file):
            if time.time() > deadline:
                self.interrupt_children()
                while (not os.path.exists(rc_file) and
                       time.time() < deadline + 10):
                    time.sleep(0.05)
                return None, self.terminal.text(start)
            time.sleep(0.02)
        end = self.terminal.wait_for(marker, start, limit=10)
        if background:
            # A person waits for a background program's first words before
            # typing on.
            limit = time.time() + 10
            after = end + len(marker)
            while self.terminal.size() == after and time.time() < limit:
                time.sleep(0.05)
            self.terminal.settle()
        with open(rc_file) as f:
            status = int(f.read().strip())
        return status, self.terminal.text(start, end)

    def interrupt_children(self):
        for pid in descendants(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError):
            pass
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Background:
    """A command in a terminal of its own (another terminal of the user)."""

    def __init__(self, text, source):
        self.text = text
        self.terminal = Terminal()
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", "exec " + text if not text.rstrip().endswith("&")
             else text], stdin=subprocess.DEVNULL, stdout=self.terminal.slave,
            stderr=self.terminal.slave, cwd=source, env=base_env(source),
            start_new_session=True)

    def interrupt(self, timeout=20.0):
        """Ctrl-C; returns the exit status, or None if it did not stop."""
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return None


def port_open():
    try:
        socket.create_connection(SERVER_ADDRESS, timeout=0.5).close()
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# Running a doc


class Report:
    """What ran, what was skipped and why, and what failed."""

    def __init__(self):
        self.failures = []
        self.ran = []
        self.skipped = []
        self.code = []
        self.references = []

    def fail(self, command_or_where, message, output=None):
        where = (command_or_where.where() if isinstance(command_or_where, Command)
                 else command_or_where)
        text = "%s: %s" % (where, message)
        if output is not None:
            text += "\n    output:\n" + "".join("      | %s\n" % l
                                                for l in output.rstrip("\n").split("\n"))
        self.failures.append(text)
        print("FAIL " + text, flush=True)


def check_output(report, command, status, output, started):
    if status is None:
        report.fail(command, "`%s` did not finish within %d s" %
                    (command.short(), COMMAND_TIMEOUT), output)
        return
    if status != command.expected_exit:
        report.fail(command, "`%s` exited %d, the doc expects %d" %
                    (command.short(), status, command.expected_exit), output)
        return
    if command.expected_output is not None:
        actual = output.rstrip("\n").split("\n") if output.strip() else []
        if not output_matches(command.expected_output, actual):
            report.fail(command, "`%s` printed other output than the doc shows;\n"
                        "    the doc:\n%s" % (command.short(), "".join(
                            "      | %s\n" % l for l in command.expected_output)),
                        output)
            return
    report.ran.append(command)
    print("ok   %s: %s (%.1f s)" % (command.where(), command.short(),
                                    time.time() - started), flush=True)
    if VERBOSE:
        print("".join("      | %s\n" % l
                      for l in output.rstrip("\n").split("\n")),
              end="", flush=True)


def start_server(report, command, source, servers):
    if port_open():
        report.fail(command, "127.0.0.1:50051 is already taken before `%s`" %
                    command.short())
        return
    server = Background(command.text, source)
    deadline = time.time() + SERVER_TIMEOUT
    while time.time() < deadline and server.proc.poll() is None:
        if port_open():
            break
        time.sleep(0.1)
    if not port_open():
        report.fail(command, "`%s` did not serve 127.0.0.1:50051" %
                    command.short(), server.terminal.text())
        server.interrupt()
        return
    servers.append((command, server))
    report.ran.append(command)
    print("ok   %s: %s (server)" % (command.where(), command.short()),
          flush=True)


def run_block(report, block, shell, source):
    if block.kind == "skip":
        report.skipped.append(("%s:%d" % (block.doc, block.line),
                               "```%s block" % block.language, block.reason))
        return
    if block.kind == "code":
        report.code.append("%s:%d ```%s" % (block.doc, block.line, block.language))
        return
    if block.kind == "file":
        path = os.path.join(PROJECT, block.reason)
        with open(path, "w") as f:
            f.write("\n".join(block.body) + "\n")
        link = os.path.join(PROJECT, "path", "to", "mozuma-states")
        if not os.path.islink(link):
            os.symlink(source, link)
        print("ok   %s:%d: wrote ~/project/%s" % (block.doc, block.line,
                                                 block.reason), flush=True)
        return
    if block.kind == "protoc-check":
        protoc_check(report, block, source)
        return
    if block.cwd:
        link = os.path.join(PROJECT, "path", "to", "mozuma-states")
        if not os.path.islink(link):
            os.symlink(source, link)
        shell.send("cd %s\n" % shlex.quote(block.cwd))
    backgrounds = []
    try:
        for command in block.commands:
            if command.mode == "skip":
                report.skipped.append((command.where(), command.short(),
                                       command.reason))
                continue
            if command.mode == "server":
                start_server(report, command, source, shell.servers)
                continue
            if command.mode == "background":
                bg = Background(command.text, source)
                bg.terminal.settle(quiet=0.5, limit=10)
                limit = time.time() + 10
                while bg.terminal.size() == 0 and time.time() < limit:
                    time.sleep(0.05)
                bg.terminal.settle(quiet=0.5, limit=10)
                backgrounds.append((command, bg))
                continue
            status, output = shell.run(command.text)
            check_output(report, command, status, output, shell.started)
        for command, bg in backgrounds:
            finish_background(report, command, bg)
    finally:
        if block.cwd:
            shell.send("cd %s\n" % shlex.quote(source))


def finish_background(report, command, bg):
    deadline = time.time() + 10
    while time.time() < deadline:
        actual = bg.terminal.text().rstrip("\n").split("\n")
        if (command.expected_output is None or
            output_matches(command.expected_output, actual)):
            break
        time.sleep(0.1)
    early = bg.proc.poll()
    status = bg.interrupt()
    bg.terminal.settle()
    output = bg.terminal.text()
    if early is not None:
        report.fail(command, "`%s` (in a second terminal) exited %d before "
                    "Ctrl-C; the doc runs it until then" %
                    (command.short(), early), output)
        return
    if status not in (0, -signal.SIGINT, 128 + signal.SIGINT):
        report.fail(command, "`%s` (in a second terminal) did not stop "
                    "cleanly on Ctrl-C (status %s)" % (command.short(),
                                                      status), output)
        return
    if command.expected_output is not None:
        actual = output.rstrip("\n").split("\n") if output.strip() else []
        if not output_matches(command.expected_output, actual):
            report.fail(command, "`%s` (in a second terminal) printed other output "
                        "than the doc shows;\n    the doc:\n%s" % (
                            command.short(), "".join(
                                "      | %s\n" % l for l in command.expected_output)),
                        output)
            return
    report.ran.append(command)
    print("ok   %s: %s (second terminal, stopped with Ctrl-C: %s)" %
          (command.where(), command.short(), status), flush=True)
    if VERBOSE:
        print("".join("      | %s\n" % l
                      for l in output.rstrip("\n").split("\n")),
              end="", flush=True)


def protoc_check(report, block, source):
    body = "\n".join(block.body)
    lists = re.findall(r"&\[([^\]]*)\]", body)
    where = "%s:%d" % (block.doc, block.line)
    if len(lists) < 2:
        report.fail(where, "protoc-check: no compile_protos(&[files], "
                    "&[includes]) call in the block")
        return
    files = re.findall(r'"([^"]+)"', lists[0])
    includes = re.findall(r'"([^"]+)"', lists[1])
    link = os.path.join(PROJECT, "path", "to", "mozuma-states")
    if not os.path.islink(link):
        os.symlink(source, link)
    argv = (["protoc"] + ["-I" + i for i in includes] +
            ["--include_imports", "-o", "/dev/null"] + files)
    result = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True)
    if result.returncode != 0:
        report.fail(where, "protoc-check: `%s` failed" % " ".join(argv),
                    result.stdout + result.stderr)
        return
    print("ok   %s: protoc compiles %s with includes %s" % (
        where, " ".join(files), " ".join(includes)), flush=True)


def run_doc(report, rel, steps, source, build):
    print("== %s" % rel, flush=True)
    doc_started = time.time()
    scratch = tempfile.mkdtemp(prefix="doc-test-")
    run(["mount", "-t", "tmpfs", "tmpfs", scratch])
    try:
        with Sandbox(source, build, scratch):
            shell = Shell(source, scratch)
            shell.servers = []
            try:
                for kind, payload in steps:
                    if kind == "block":
                        run_block(report, payload, shell, source)
                        continue
                    command = payload
                    if command.mode == "skip":
                        report.skipped.append((command.where(), command.short(),
                                               command.reason))
                    elif command.mode == "synopsis":
                        report.skipped.append((command.where(), command.short(),
                                               command.reason))
                    elif command.mode == "reference":
                        report.references.append("%s: %s" % (command.where(),
                                                             command.short()))
                    elif command.mode == "server":
                        start_server(report, command, source, shell.servers)
                    else:
                        status, output = shell.run(command.text)
                        check_output(report, command, status, output, shell.started)
                for command, server in shell.servers:
                    # statesd exits 0 on Ctrl-C; make, when it ran it, dies of the
                    # SIGINT itself once statesd has stopped, as in a terminal.
                    status = server.interrupt()
                    if status not in (0, -signal.SIGINT):
                        report.fail(command, "the server `%s` did not stop cleanly on "
                                    "Ctrl-C (status %s)" % (command.short(), status),
                                    server.terminal.text())
            finally:
                shell.proc.stdin.close()
                kill_everything_else()
    finally:
        subprocess.run(["umount", "-l", scratch], check=False)
        os.rmdir(scratch)
        print("   %s took %.1f s" % (rel, time.time() - doc_started), flush=True)


# --------------------------------------------------------------------------
# Entry


def enter_sandbox(args):
    """Re-runs this script in new namespaces; returns its exit status."""
    base = ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        base[1:1] = ["--user", "--map-root-user"]
    probe = subprocess.run(base + ["true"], capture_output=True, text=True)
    if probe.returncode != 0:
        print("doc-test: cannot make a private network and mount namespace "
              "(%s): run as root or enable unprivileged user namespaces; "
              "skipping" % probe.stderr.strip())
        return SKIP_EXIT
    env = dict(os.environ, DOC_TEST_IN_SANDBOX="1")
    return subprocess.run(base + [sys.executable] + sys.argv,
                          env=env).returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--list", action="store_true",
                        help="only list what would run, skip or fail")
    parser.add_argument("--verbose", action="store_true",
                        help="also print the output of commands that pass")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    source = os.path.realpath(args.source_dir)
    build = os.path.realpath(args.build_dir)

    patterns = args.files or DEFAULT_FILES
    files = []
    for pattern in patterns:
        found = sorted(glob.glob(os.path.join(source, pattern)))
        if not found:
            print("doc-test: no file matches %s" % pattern)
            return 1
        files += [os.path.relpath(f, source) for f in found]

    report = Report()
    docs = {}
    try:
        for rel in files:
            docs[rel] = parse_doc(os.path.join(source, rel), rel)
        plans = classify(docs)
    except DocError as e:
        print("FAIL %s" % e)
        return 1

    if args.list:
        for rel, steps in plans.items():
            print("== %s" % rel)
            for kind, payload in steps:
                if kind == "block":
                    print("  block %s:%d ```%s %s %s" % (
                        rel, payload.line, payload.language, payload.kind,
                        payload.reason))
                    for c in payload.commands:
                        print("    %-10s %s exit=%d out=%s" % (
                            c.mode, c.short(), c.expected_exit,
                            "yes" if c.expected_output else "no"))
                else:
                    print("  inline %-10s %s" % (payload.mode, payload.short()))
        return 0

    if not os.environ.get("DOC_TEST_IN_SANDBOX"):
        return enter_sandbox(args)

    bring_loopback_up()
    started = time.time()
    for rel in files:
        run_doc(report, rel, plans[rel], source, build)

    print("\n== skipped, with the reason the doc gives")
    for where, what, reason in report.skipped:
        print("  %s: %s: %s" % (where, what, reason))
    print("\n== tools named in the text (a program and one word), not run")
    for reference in report.references:
        print("  " + reference)
    print("\n== code blocks (not commands)")
    for code in report.code:
        print("  " + code)
    print("\n%d commands ran as written, %d skipped, %d failed (%.0f s)" % (
        len(report.ran), len(report.skipped), len(report.failures),
        time.time() - started))
    for failure in report.failures:
        print("FAIL " + failure)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
