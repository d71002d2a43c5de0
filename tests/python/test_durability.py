"""Durability of statesd's SQLite store, from a Python client.

A clean restart keeps every state, revision and the change history; a
SIGKILL under write load loses no acknowledged write and leaves a file that
passes `PRAGMA integrity_check`, in WAL mode. Also the `--db` flag: the file
is created with its directory on first start, and files that are not
stores of this version are refused. Real `statesd` processes on 127.0.0.1;
every call has a deadline and every wait is bounded.
"""

import os
import sqlite3
import sys
import threading
import time
import unittest

import grpc

import statesd
from statesd import make_key, make_state, register, list_all
from statesd import current_revision, WatchReader
from statesd import state_service_pb2 as pb

TIMEOUT = statesd.RPC_TIMEOUT

MOZUMA_STATES = statesd.MOZUMA_STATES


def sqlite_pragmas(path):
    """(integrity_check rows, journal_mode) of the file, read with Python's
    sqlite3 module. Call only while no server runs on the file."""
    connection = sqlite3.connect(path, timeout=10)
    try:
        integrity = [row[0] for row in
                     connection.execute("PRAGMA integrity_check").fetchall()]
        journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        return integrity, journal_mode
    finally:
        connection.close()


def batch_get(stub, names):
    """{name: State or None} through BatchGetStates, 1000 keys a call."""
    found = {}
    names = list(names)
    for start in range(0, len(names), 1000):
        chunk = names[start:start + 1000]
        response = stub.BatchGetStates(pb.BatchGetStatesRequest(
            state_keys=[make_key(n) for n in chunk]), timeout=30)
        for name, result in zip(chunk, response.results):
            found[name] = result.state if result.found else None
    return found


class DurabilityTestCase(statesd.RpcAssertions, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.db = statesd.TempDb()
        self.addCleanup(self.db.close)

    def start(self, *flags):
        server = statesd.Statesd(*flags, db=self.db.path)
        self.addCleanup(server.close)
        return server

    def assertCleanStop(self, server):
        code = server.stop()
        self.assertEqual(code, 0, server.output())
        self.assertIn("statesd: stopped", server.stdout)

    def assertHealthyFile(self):
        integrity, journal_mode = sqlite_pragmas(self.db.path)
        self.assertEqual(integrity, ["ok"])
        self.assertEqual(journal_mode.lower(), "wal")


# --- clean restarts ---------------------------------------------------------------

class RestartTest(DurabilityTestCase):

    def test_restart_keeps_states_revisions_and_history(self):
        self.assertFalse(os.path.exists(self.db.path))
        server = self.start()
        self.assertTrue(os.path.exists(self.db.path), "no file at --db")
        stub = server.stub()
        changes = []
        for name in MOZUMA_STATES:
            state = register(stub, make_state(
                name, sha256="ab" * 32, size_bytes=len(name),
                labels={"source": "mozuma", "name": name})).state
            changes.append(("TYPE_ADDED", name, state.revision))
        for i in range(40):
            name = "extra.arch%d.cls%d.t%02d" % (i % 3, i % 4, i)
            changes.append(("TYPE_ADDED", name, register(
                stub, make_state(name)).state.revision))
        for name in MOZUMA_STATES[:3]:
            changes.append(("TYPE_UPDATED", name, register(
                stub, make_state(name, uri="s3://bucket/%s.pt" % name),
                allow_overwrite=True).state.revision))
        for name in ("extra.arch0.cls0.t00", MOZUMA_STATES[1]):
            changes.append(("TYPE_DELETED", name, stub.DeleteState(
                pb.DeleteStateRequest(state_key=make_key(name)),
                timeout=TIMEOUT).revision))
        revision = current_revision(stub)
        self.assertEqual(revision, len(changes))
        before, _ = list_all(stub, page_size=7)
        self.assertEqual(len(before), 10 + 40 - 2)

        for restart in range(2):
            with self.subTest(restart=restart):
                self.assertCleanStop(server)
                self.assertHealthyFile()
                server.start()
                stub = server.stub()
                after, responses = list_all(stub, page_size=7)
                self.assertEqual(after, before)  # every field, timestamps too
                self.assertEqual({r.revision for r in responses}, {revision})
                for state in before[::5]:
                    self.assertEqual(stub.GetState(pb.GetStateRequest(
                        state_key=state.state_key), timeout=TIMEOUT).state,
                        state)
                # The change history survives: resume a watch from before
                # the restart.
                reader = WatchReader(stub, pb.WatchStatesRequest(
                    start_revision=revision - 5), timeout=60)
                self.addCleanup(reader.cancel)
                events = reader.read_until_revision(revision)
                self.assertEqual(
                    [(pb.StateEvent.Type.Name(e.type), e.state.name,
                      e.revision) for e in events],
                    changes[-5:])
                reader.cancel()

        # The revision counter survives, even though the last change was a
        # deletion.
        new = register(stub, make_state("after.restart.x")).state
        self.assertEqual(new.revision, revision + 1)
        self.assertCleanStop(server)
        self.assertHealthyFile()

    def test_memory_store_keeps_nothing(self):
        with statesd.Statesd(db=statesd.MEMORY_DB) as server:
            stub = server.stub()
            register(stub, make_state("a.b.c"))
            self.assertEqual(current_revision(stub), 1)
            self.assertEqual(server.restart(), 0)
            stub = server.stub()
            self.assertEqual(current_revision(stub), 0)
            states, _ = list_all(stub)
            self.assertEqual(states, [])
        self.assertFalse(os.path.exists(statesd.MEMORY_DB))


# --- crashes ---------------------------------------------------------------------

class CrashWriter:
    """Registers distinct keys as fast as it can on its own channel; every
    tenth call replaces one of its states and every seventh deletes one.
    Records what was acknowledged, and the call in flight when the server
    died."""

    def __init__(self, address, prefix):
        self.channel = grpc.insecure_channel(address)
        self.stub = statesd.state_service_pb2_grpc.StateServiceStub(
            self.channel)
        self.prefix = prefix
        self.acked = {}        # name -> uri acknowledged, None when deleted
        self.last_created = None
        self.in_flight = None  # (name, uri or None) of the unanswered call
        self.error = None
        self.unexpected = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        count = 0
        names = []
        while not self.stop_event.is_set():
            count += 1
            try:
                if count % 7 == 0 and names:
                    name = names.pop(count % len(names))
                    self.in_flight = (name, None)
                    self.stub.DeleteState(pb.DeleteStateRequest(
                        state_key=make_key(name)), timeout=5)
                    self.acked[name] = None
                    self.in_flight = None
                    continue
                if count % 10 == 0 and names:
                    name = names[count % len(names)]
                    uri = "s3://bucket/%s/v%d" % (name, count)
                    overwrite = True
                else:
                    name = "%s-k%06d" % (self.prefix, count)
                    uri = "file:///srv/%s.pt" % name
                    overwrite = False
                self.in_flight = (name, uri)
                response = self.stub.RegisterState(pb.RegisterStateRequest(
                    state=make_state(name, uri=uri),
                    allow_overwrite=overwrite), timeout=5)
            except grpc.RpcError as error:
                self.error = error
                return
            if not response.changed or response.state.uri != uri:
                self.unexpected.append((name, response))
            self.acked[name] = uri
            self.in_flight = None
            if not overwrite:
                names.append(name)
                self.last_created = name

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join(20)
        self.channel.close()
        return not self.thread.is_alive()


class CrashTest(DurabilityTestCase):

    WRITERS = 4
    CYCLES = 3
    LOAD_SECONDS = 1.5

    def test_acknowledged_writes_survive_sigkill(self):
        acked = {}  # name -> the uris it may hold (None: absent)
        report = []
        server = None
        for cycle in range(self.CYCLES):
            with self.subTest(cycle=cycle):
                if server is None:
                    server = self.start()
                else:
                    server.start()
                writers = [CrashWriter(server.address,
                                       "crash.c%d.w%d" % (cycle, i))
                           for i in range(self.WRITERS)]
                for writer in writers:
                    writer.start()
                time.sleep(self.LOAD_SECONDS)
                self.assertEqual(server.kill(), -9)
                for writer in writers:
                    self.assertTrue(writer.stop(), "a writer hangs")
                    self.assertEqual(writer.unexpected, [])
                    self.assertIsNotNone(writer.error)
                    for name, uri in writer.acked.items():
                        acked[name] = {uri}
                    if writer.in_flight is not None:
                        # Unanswered: done or not. A key never acknowledged
                        # may be absent.
                        name, uri = writer.in_flight
                        acked.setdefault(name, {None}).add(uri)
                count = sum(len(w.acked) for w in writers)
                deletions = sum(1 for w in writers
                                for uri in w.acked.values() if uri is None)
                self.assertGreater(count, 0, "no write acknowledged in %.1fs"
                                   % self.LOAD_SECONDS)

                server.start()
                stub = server.stub()
                for writer in writers:
                    if writer.last_created is not None:
                        name = writer.last_created
                        if acked[name] == {writer.acked[name]}:
                            self.assertEqual(stub.GetState(pb.GetStateRequest(
                                state_key=make_key(name)),
                                timeout=TIMEOUT).state.uri,
                                writer.acked[name])
                stored = batch_get(stub, acked)
                lost = {name: uris for name, uris in acked.items()
                        if (stored[name].uri if stored[name] else None)
                        not in uris}
                self.assertEqual(lost, {}, "acknowledged writes lost or "
                                 "changed after SIGKILL")
                listed, responses = list_all(stub, page_size=1000)
                listed_names = {s.name for s in listed}
                must_exist = {n for n, uris in acked.items()
                              if None not in uris}
                self.assertEqual(must_exist - listed_names, set())
                must_be_gone = {n for n, uris in acked.items()
                                if uris == {None}}
                self.assertEqual(must_be_gone & listed_names, set())
                # What the store holds now is what later cycles must keep.
                acked = {name: {stored[name].uri if stored[name] else None}
                         for name in acked}
                revision = responses[0].revision
                revisions = [s.revision for s in listed]
                self.assertEqual(len(revisions), len(set(revisions)))
                self.assertLessEqual(max(revisions), revision)
                self.assertEqual(
                    register(stub, make_state("crash.after.c%d" % cycle))
                    .state.revision, revision + 1)
                acked["crash.after.c%d" % cycle] = {
                    "file:///srv/states/crash.after.c%d.pt" % cycle}
                report.append((count, deletions, revision))
                self.assertCleanStop(server)
                self.assertHealthyFile()
        sys.stderr.write("\n  crash cycles (keys acknowledged, of which "
                         "deleted, store revision after restart): %r\n"
                         % report)


# --- replicas of one store -----------------------------------------------------------

class ReplicaTest(DurabilityTestCase):
    """Two statesd processes on one file: "page tokens ... stay valid across
    server restarts and replicas of one store"; revisions are store-wide."""

    def test_two_servers_on_one_file(self):
        first = self.start()
        second = self.start()
        stub_a, stub_b = first.stub(), second.stub()
        all_names = ["replica.a.k%02d" % i for i in range(20)]
        for name in all_names:
            register(stub_a, make_state(name))
        # Reads on B see every write acknowledged by A.
        self.assertEqual(stub_b.GetState(pb.GetStateRequest(
            state_key=make_key(all_names[-1])), timeout=TIMEOUT).state.name,
            all_names[-1])
        page = stub_a.ListStates(pb.ListStatesRequest(page_size=8),
                                 timeout=TIMEOUT)
        rest, _ = [], None
        token = page.next_page_token
        while token:
            response = stub_b.ListStates(pb.ListStatesRequest(
                page_size=5, page_token=token), timeout=TIMEOUT)
            rest.extend(s.name for s in response.states)
            token = response.next_page_token
        self.assertEqual([s.name for s in page.states] + rest, all_names)

        # A watch on B sees a change made through A; revisions are shared.
        reader = WatchReader(stub_b, pb.WatchStatesRequest(start_revision=20),
                             timeout=60)
        self.addCleanup(reader.cancel)
        state = register(stub_a, make_state("replica.a.live")).state
        self.assertEqual(state.revision, 21)
        events = reader.read_until_revision(21, timeout=15)
        self.assertEqual([(e.state.name, e.revision) for e in events],
                         [("replica.a.live", 21)])
        self.assertEqual(register(stub_b, make_state("replica.b.x"))
                         .state.revision, 22)
        reader.cancel()
        self.assertCleanStop(second)
        self.assertCleanStop(first)
        self.assertHealthyFile()


# --- the --db flag ------------------------------------------------------------------

class StoreFileTest(DurabilityTestCase):

    def test_missing_directories_are_created(self):
        # statesd --help: the file is "created with its directory on first
        # start".
        path = os.path.join(self.db.directory, "a", "b", "states.db")
        with statesd.Statesd(db=path) as server:
            register(server.stub(), make_state("a.b.c"))
            self.assertTrue(os.path.isfile(path))
            self.assertEqual(server.stop(), 0)
        self.assertEqual(sqlite_pragmas(path), (["ok"], "wal"))

    def test_a_directory_that_cannot_be_created_is_an_error(self):
        blocker = os.path.join(self.db.directory, "file")
        with open(blocker, "w", encoding="utf-8") as regular_file:
            regular_file.write("a regular file, not a directory\n")
        path = os.path.join(blocker, "states.db")
        code, stdout, stderr = statesd.run_to_exit("--db=" + path)
        self.assertIsNotNone(code, "statesd served: %r" % stdout)
        self.assertNotEqual(code, 0)
        self.assertIn(blocker, stderr)

    def test_a_file_that_is_not_a_store_is_refused(self):
        with open(self.db.path, "w", encoding="utf-8") as text:
            text.write("these are not the states you are looking for\n" * 100)
        code, stdout, stderr = statesd.run_to_exit("--db=" + self.db.path)
        self.assertIsNotNone(code, "statesd served: %r" % stdout)
        self.assertNotEqual(code, 0)
        self.assertIn(self.db.path, stderr)
        with open(self.db.path, encoding="utf-8") as text:
            self.assertTrue(text.read().startswith("these are not"))

    def test_a_store_from_a_newer_version_is_refused(self):
        server = self.start()
        register(server.stub(), make_state("a.b.c"))
        self.assertCleanStop(server)
        connection = sqlite3.connect(self.db.path)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            self.assertGreater(version, 0, "no schema version in user_version")
            connection.execute("PRAGMA user_version = %d" % (version + 1000))
            connection.commit()
        finally:
            connection.close()
        code, stdout, stderr = statesd.run_to_exit("--db=" + self.db.path)
        self.assertIsNotNone(code, "statesd served: %r" % stdout)
        self.assertNotEqual(code, 0)
        self.assertIn(self.db.path, stderr)


# --- faults: a damaged file, a file deleted or replaced while running ----------

def wait_for_health(server, status_name, timeout=10.0):
    """Polls Health/Check (overall and for the StateService) until both
    report `status_name`; returns True, or False after `timeout`."""
    channel = server.channel()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = {statesd.serving_status_name(
            statesd.health_check(channel, service).status)
            for service in ("", "mozuma.states.v1.StateService")}
        if statuses == {status_name}:
            return True
        time.sleep(0.1)
    return False


class FaultTest(DurabilityTestCase):

    def assertFileGone(self, rpc_error):
        details = statesd.error_details(rpc_error)
        self.assertErrorDetails(details, grpc.StatusCode.UNAVAILABLE,
                                "STORE_FILE_GONE")
        self.assertIn(self.db.path, details.message)

    def try_writes(self, stub, names):
        """Registers each of `names`; returns those acknowledged. Every
        failure must be UNAVAILABLE (STORE_FILE_GONE)."""
        acknowledged = []
        for name in names:
            try:
                register(stub, make_state(name))
                acknowledged.append(name)
            except grpc.RpcError as error:
                self.assertFileGone(error)
        return acknowledged

    def test_a_damaged_page_in_the_middle_is_refused_at_start(self):
        server = self.start()
        stub = server.stub()
        for i in range(200):
            register(stub, make_state("a.b.t%d" % i,
                                      uri="file:///%d/%s" % (i, "x" * 1000)))
        self.assertCleanStop(server)
        self.assertFalse(os.path.exists(self.db.path + "-wal"))
        connection = sqlite3.connect(self.db.path)
        try:
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        finally:
            connection.close()
        self.assertGreater(pages, 20)
        with open(self.db.path, "r+b") as database:
            database.seek((pages // 2 - 1) * page_size)
            database.write(bytes((i * 7919 + 13) % 251
                                 for i in range(page_size)))
        with open(self.db.path, "rb") as database:
            damaged = database.read()

        code, stdout, stderr = statesd.run_to_exit("--db=" + self.db.path)
        self.assertEqual(code, 4, "statesd: %r %r" % (stdout, stderr))
        self.assertIn(self.db.path, stderr)
        self.assertIn("quick_check", stderr)
        self.assertIn("backup", stderr)
        self.assertIn("sqlite3 %s .recover" % self.db.path, stderr)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        with open(self.db.path, "rb") as database:
            self.assertEqual(database.read(), damaged)

    def test_a_deleted_store_fails_writes_and_health(self):
        server = self.start()
        stub = server.stub()
        register(stub, make_state("before.b.c"))
        for suffix in ("", "-wal", "-shm"):
            os.remove(self.db.path + suffix)
        self.assertEqual(self.try_writes(stub, ["after.b.t%d" % i
                                                for i in range(20)]), [])
        self.assertTrue(wait_for_health(server, "NOT_SERVING"),
                        server.stderr)
        self.assertEqual(self.try_writes(stub, ["late.b.c"]), [])
        lines = [line for line in server.stderr.splitlines()
                 if "NOT_SERVING" in line]
        self.assertEqual(len(lines), 1, server.stderr)
        self.assertIn(self.db.path, lines[0])
        # No file appeared at the path: a restart starts an empty store,
        # and so holds every write acknowledged since the deletion (none).
        self.assertFalse(os.path.exists(self.db.path))
        self.assertCleanStop(server)
        server.start()
        self.assertEqual(list_all(server.stub())[0], [])
        self.assertCleanStop(server)
        self.assertHealthyFile()

    def test_a_replaced_store_fails_writes_and_a_restart_reads_the_new_file(
            self):
        server = self.start()
        stub = server.stub()
        for i in range(50):
            register(stub, make_state("old.b.t%d" % i))
        other = statesd.TempDb()
        self.addCleanup(other.close)
        replacement = statesd.Statesd(db=other.path)
        self.addCleanup(replacement.close)
        register(replacement.stub(), make_state("new.b.c"))
        self.assertEqual(replacement.stop(), 0)
        os.replace(other.path, self.db.path)

        self.assertEqual(self.try_writes(stub, ["after.b.t%d" % i
                                                for i in range(20)]), [])
        self.assertTrue(wait_for_health(server, "NOT_SERVING"),
                        server.stderr)
        # A crash now: the old store's WAL, still at the path, must not be
        # read over the new file at the restart.
        server.kill()
        self.assertHealthyFile()
        server.start()
        states, _ = list_all(server.stub())
        self.assertEqual([statesd.key_name(s.state_key) for s in states],
                         ["new.b.c"])
        self.assertTrue(wait_for_health(server, "SERVING"))
        register(server.stub(), make_state("again.b.c"))
        self.assertCleanStop(server)

    def test_the_same_file_moved_back_is_served_again(self):
        server = self.start()
        stub = server.stub()
        register(stub, make_state("before.b.c"))
        aside = self.db.path + ".aside"
        os.rename(self.db.path, aside)
        self.assertEqual(self.try_writes(stub, ["during.b.c"]), [])
        self.assertTrue(wait_for_health(server, "NOT_SERVING"),
                        server.stderr)
        os.rename(aside, self.db.path)
        self.assertTrue(wait_for_health(server, "SERVING"), server.stderr)
        self.assertIn("back", server.stderr)
        register(stub, make_state("after.b.c"))
        self.assertCleanStop(server)
        server.start()
        states, _ = list_all(server.stub())
        self.assertEqual(sorted(statesd.key_name(s.state_key)
                                for s in states),
                         ["after.b.c", "before.b.c"])
        self.assertCleanStop(server)


if __name__ == "__main__":
    unittest.main()
