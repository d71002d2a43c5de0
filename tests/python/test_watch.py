"""End-to-end tests of WatchStates from a Python client.

Snapshot and live events, the gap-free handover from one to the other under
concurrent writes, resuming from a revision, history compaction, filters,
slow consumers (HTTP/2 flow control), the drain on SIGTERM and many idle
watches. Real `statesd` processes on 127.0.0.1, each on its own temporary
SQLite file; every call has a deadline and every wait is bounded.
"""

import random
import sys
import threading
import time
import unittest

import grpc

import statesd
from statesd import make_key, make_state, key_tuple, register, list_all
from statesd import current_revision, WatchReader
from statesd import state_pb2
from statesd import state_service_pb2 as pb

TIMEOUT = statesd.RPC_TIMEOUT
WATCH_TIMEOUT = 120  # the deadline of every watch

ADDED = pb.StateEvent.TYPE_ADDED
UPDATED = pb.StateEvent.TYPE_UPDATED
DELETED = pb.StateEvent.TYPE_DELETED

COMPATIBLE = pb.STATE_TYPE_MATCH_COMPATIBLE
EXACT = pb.STATE_TYPE_MATCH_EXACT


def state_type(backend, architecture, *extra):
    return state_pb2.StateType(backend=backend, architecture=architecture,
                               extra=list(extra))


def type_name(event_type):
    return pb.StateEvent.Type.Name(event_type)


def summary(events):
    """[(type, name, revision)] of events."""
    return [(type_name(e.type), e.state.name, e.revision) for e in events]


def apply_events(states, events):
    """Applies events to {name: State}."""
    for event in events:
        if event.type in (ADDED, UPDATED):
            states[event.state.name] = event.state
        elif event.type == DELETED:
            states.pop(event.state.name, None)
        else:
            raise AssertionError("unexpected event type %r" % event)
    return states


class WatchTestCase(statesd.RpcAssertions, unittest.TestCase):
    """A fresh statesd (temporary store) per test, with SERVER_FLAGS."""

    SERVER_FLAGS = ()

    def setUp(self):
        super().setUp()
        self.server = statesd.Statesd(*self.SERVER_FLAGS)
        self.addCleanup(self.server.close)
        self.channel = self.server.channel()
        self.stub = statesd.state_service_pb2_grpc.StateServiceStub(
            self.channel)

    def tearDown(self):
        # A crash shows up here, next to the test that caused it.
        code = self.server.process.poll()
        if code not in (None, 0):
            self.fail("statesd died (exit code %r): %r" % (
                code, self.server.output(1.0)))
        super().tearDown()

    def watch(self, stub=None, start=True, **request_fields):
        reader = WatchReader(stub or self.stub,
                             pb.WatchStatesRequest(**request_fields),
                             timeout=WATCH_TIMEOUT, start=start)
        self.addCleanup(reader.cancel)
        return reader

    def watch_error(self, code, reason, fields=None, **request_fields):
        """Opens a watch that must fail at once; returns its ErrorDetails."""
        reader = self.watch(**request_fields)
        events, error = reader.read_to_end(timeout=10)
        self.assertEqual(events, [])
        self.assertFalse(any(m.snapshot_complete for m in reader.messages))
        self.assertIsInstance(error, grpc.RpcError, error)
        return self.assertErrorDetails(statesd.error_details(error), code,
                                       reason, fields)

    def delete(self, name):
        return self.stub.DeleteState(
            pb.DeleteStateRequest(state_key=make_key(name)), timeout=TIMEOUT)

    def assertSnapshot(self, events, complete, states):
        """The snapshot holds exactly `states` (listing order), as ADDED
        events at the states' revisions."""
        self.assertEqual([e.type for e in events], [ADDED] * len(events))
        self.assertEqual([e.state for e in events], list(states))
        for event in events:
            self.assertEqual(event.revision, event.state.revision, event)
        self.assertTrue(complete.snapshot_complete)
        self.assertEqual(list(complete.events), [])

    def assertLiveOrder(self, reader, events):
        revisions = [e.revision for e in events]
        self.assertEqual(revisions, sorted(set(revisions)),
                         "live revisions not strictly increasing")


# --- snapshot, live, resume --------------------------------------------------------

class WatchEventsTest(WatchTestCase):

    def test_snapshot_then_complete_then_live_events(self):
        register(self.stub, make_state("pytorch.resnet18.a"))
        register(self.stub, make_state("pytorch.resnet18.cls1000.b"))
        register(self.stub, make_state("tf.x.c"))
        register(self.stub, make_state("pytorch.resnet18.a", uri="s3://b/a"),
                 allow_overwrite=True)
        listed, _ = list_all(self.stub)
        self.assertEqual(current_revision(self.stub), 4)

        reader = self.watch()
        snapshot, complete = reader.read_snapshot()
        self.assertSnapshot(snapshot, complete, listed)
        self.assertEqual([e.revision for e in snapshot], [4, 2, 3])
        for message in reader.messages:
            if message.events:
                self.assertEqual(message.revision, 0, message)
        self.assertEqual(complete.revision, 4)

        created = register(self.stub, make_state("pytorch.resnet18.d")).state
        updated = register(self.stub, make_state("pytorch.resnet18.d",
                                                 uri="s3://b/d"),
                           allow_overwrite=True).state
        deleted = self.delete("pytorch.resnet18.cls1000.b")
        register(self.stub, make_state("pytorch.resnet18.d", uri="s3://b/d"))
        live = reader.read_until_revision(7)
        self.assertEqual(summary(live), [
            ("TYPE_ADDED", "pytorch.resnet18.d", 5),
            ("TYPE_UPDATED", "pytorch.resnet18.d", 6),
            ("TYPE_DELETED", "pytorch.resnet18.cls1000.b", 7)])
        self.assertEqual(live[0].state, created)
        self.assertEqual(live[1].state, updated)
        self.assertEqual(live[2].state, deleted.state)
        self.assertEqual(live[2].revision, deleted.revision)
        self.assertEqual(live[2].state.revision, 2)
        for message in reader.messages:
            if message is not complete:
                self.assertFalse(message.snapshot_complete)
            if message.events and message.revision:
                self.assertGreaterEqual(
                    message.revision, max(e.revision for e in message.events))
        # The no-op registration sent nothing: the next event is revision 8.
        register(self.stub, make_state("tf.x.e"))
        more = reader.read_until_revision(8)
        self.assertEqual(summary(more), [("TYPE_ADDED", "tf.x.e", 8)])
        self.assertTrue(reader.call.is_active())

    def test_large_snapshot_spans_many_messages(self):
        count = 1500
        labels = {"l%d" % i: "x" * 1000 for i in range(2)}
        for start in range(0, count, 50):
            futures = [self.stub.RegisterState.future(pb.RegisterStateRequest(
                state=make_state("big.snap.k%05d" % i, labels=labels)),
                timeout=30) for i in range(start, min(start + 50, count))]
            for future in futures:
                future.result()
        listed, _ = list_all(self.stub, page_size=1000)
        reader = self.watch()
        snapshot, complete = reader.read_snapshot(timeout=60)
        self.assertSnapshot(snapshot, complete, listed)
        self.assertEqual(complete.revision, count)
        carrying = [m for m in reader.messages if m.events]
        self.assertGreater(len(carrying), 1,
                           "a %d-state snapshot in one message" % count)
        for message in carrying:
            self.assertEqual(message.revision, 0)
            self.assertFalse(message.snapshot_complete)
        self.assertEqual(sum(1 for m in reader.messages
                             if m.snapshot_complete), 1)
        register(self.stub, make_state("big.snap.after"))
        self.assertEqual(summary(reader.read_until_revision(count + 1)),
                         [("TYPE_ADDED", "big.snap.after", count + 1)])

    def test_empty_store(self):
        reader = self.watch()
        snapshot, complete = reader.read_snapshot()
        self.assertEqual(snapshot, [])
        self.assertEqual(complete.revision, 0)
        register(self.stub, make_state("a.b.c"))
        self.assertEqual(summary(reader.read_until_revision(1)),
                         [("TYPE_ADDED", "a.b.c", 1)])

    def make_changes(self):
        """Ten changes of every kind; returns [(type, name, revision)]."""
        changes = []

        def note(event_type, state_or_name, revision):
            name = (state_or_name if isinstance(state_or_name, str)
                    else state_or_name.name)
            changes.append((event_type, name, revision))

        for name in ("p.m.a", "p.m.cls1.b", "p.n.c", "q.m.d"):
            note("TYPE_ADDED", name,
                 register(self.stub, make_state(name)).state.revision)
        note("TYPE_UPDATED", "p.m.a", register(
            self.stub, make_state("p.m.a", uri="s3://x/1"),
            allow_overwrite=True).state.revision)
        note("TYPE_DELETED", "p.n.c", self.delete("p.n.c").revision)
        note("TYPE_ADDED", "p.n.c",
             register(self.stub, make_state("p.n.c")).state.revision)
        note("TYPE_DELETED", "p.m.a", self.delete("p.m.a").revision)
        note("TYPE_ADDED", "p.m.e",
             register(self.stub, make_state("p.m.e")).state.revision)
        note("TYPE_UPDATED", "q.m.d", register(
            self.stub, make_state("q.m.d", sha256="a" * 64),
            allow_overwrite=True).state.revision)
        self.assertEqual([c[2] for c in changes], list(range(1, 11)))
        return changes

    def test_resume_from_a_revision(self):
        changes = self.make_changes()
        for start in (0, 1, 3, 5, 9):
            with self.subTest(start_revision=start):
                if start == 0:
                    continue  # a snapshot, tested elsewhere
                reader = self.watch(start_revision=start)
                events = reader.read_until_revision(10)
                self.assertEqual(summary(events), changes[start:])
                self.assertFalse(any(m.snapshot_complete
                                     for m in reader.messages))
                for event in events:
                    if event.type != DELETED:
                        self.assertEqual(event.state.revision, event.revision)
                    else:
                        self.assertLess(event.state.revision, event.revision)
                reader.cancel()
        # From the current revision: nothing until the next change.
        reader = self.watch(start_revision=10)
        self.assertFalse(reader.poll(0.5) and reader.messages[-1].events)
        register(self.stub, make_state("p.m.f"))
        self.assertEqual(summary(reader.read_until_revision(11)),
                         [("TYPE_ADDED", "p.m.f", 11)])

    def test_resume_with_a_filter(self):
        changes = self.make_changes()
        reader = self.watch(start_revision=2,
                            state_type=state_type("p", "m"))
        register(self.stub, make_state("p.m.z"))  # revision 11: the sentinel
        events = reader.read_until_revision(11)
        want = [c for c in changes[2:] if c[1].startswith("p.m.")]
        want.append(("TYPE_ADDED", "p.m.z", 11))
        self.assertEqual(summary(events), want)

    def test_future_revision(self):
        for name in ("a.b.c", "a.b.d", "a.b.e"):
            register(self.stub, make_state(name))
        for start in (4, 1000):
            with self.subTest(start_revision=start):
                details = self.watch_error(grpc.StatusCode.OUT_OF_RANGE,
                                           "FUTURE_REVISION",
                                           start_revision=start)
                self.assertEqual(details.metadata.get("revision"), "3",
                                 details)
        # The current revision itself is not in the future.
        reader = self.watch(start_revision=3)
        register(self.stub, make_state("a.b.f"))
        self.assertEqual(summary(reader.read_until_revision(4)),
                         [("TYPE_ADDED", "a.b.f", 4)])
        # On an empty store, anything above 0 is in the future.

    def test_future_revision_on_an_empty_store(self):
        details = self.watch_error(grpc.StatusCode.OUT_OF_RANGE,
                                   "FUTURE_REVISION", start_revision=1)
        self.assertEqual(details.metadata.get("revision"), "0", details)

    def test_invalid_requests(self):
        invalid = grpc.StatusCode.INVALID_ARGUMENT
        self.watch_error(invalid, "INVALID_FILTER", fields={"start_revision"},
                         start_revision=-1)
        self.watch_error(invalid, "INVALID_FILTER",
                         fields={"state_type.backend"},
                         state_type=state_type("a b", "c"))
        self.watch_error(invalid, "INVALID_FILTER", fields={"training_id"},
                         training_id="x.y")

    def test_unknown_match_is_refused(self):
        # Proto3 keeps numbers that StateTypeMatch does not declare; such a
        # watch used to run as COMPATIBLE.
        register(self.stub, make_state("pytorch.resnet18.cls1000.a"))
        invalid = grpc.StatusCode.INVALID_ARGUMENT
        # No subTest: on a server that takes the watch, the first case
        # already fails (after watch_error's 10 s wait for the end).
        for match in (99, 3, -1):
            for fields in (dict(state_type=state_type("pytorch", "resnet18")),
                           {}):
                details = self.watch_error(invalid, "INVALID_FILTER",
                                           fields={"match"}, match=match,
                                           **fields)
                self.assertEqual(details.metadata,
                                 {"match": "UNKNOWN_ENUM_VALUE"}, details)
                [(_, description)] = details.field_violations
                self.assertIn("is %d" % match, description)
                self.assertIn("STATE_TYPE_MATCH_EXACT (2)", description)
        # A declared value still watches.
        reader = self.watch(state_type=state_type("pytorch", "resnet18"),
                            match=EXACT)
        events, complete = reader.read_snapshot(timeout=10)
        self.assertEqual(events, [])
        self.assertTrue(complete.snapshot_complete)


class FilteredWatchTest(WatchTestCase):

    def test_filter_compares_whole_fields(self):
        before = ["pytorch.resnet18.a", "pytorch.resnet180.a",
                  "pytorch.resnet18-v2.a", "pytorch.resnet18.cls1000.b",
                  "pytorch2.resnet18.a", "pytorc.resnet18.a"]
        for name in before:
            register(self.stub, make_state(name))
        compatible = self.watch(state_type=state_type("pytorch", "resnet18"))
        exact = self.watch(state_type=state_type("pytorch", "resnet18",
                                                 "cls1000"), match=EXACT)
        by_training_id = self.watch(training_id="a")
        both = self.watch(state_type=state_type("pytorch", "resnet18"),
                          training_id="a", start_revision=0)

        snapshots = {}
        for what, reader in (("compatible", compatible), ("exact", exact),
                             ("training_id", by_training_id),
                             ("both", both)):
            events, complete = reader.read_snapshot()
            snapshots[what] = [e.state.name for e in events]
            self.assertEqual(complete.revision, len(before))
        self.assertEqual(snapshots["compatible"], [
            "pytorch.resnet18.a", "pytorch.resnet18.cls1000.b"])
        self.assertEqual(snapshots["exact"], ["pytorch.resnet18.cls1000.b"])
        self.assertEqual(snapshots["training_id"], [
            "pytorc.resnet18.a", "pytorch.resnet18.a",
            "pytorch.resnet18-v2.a", "pytorch.resnet180.a",
            "pytorch2.resnet18.a"])
        self.assertEqual(snapshots["both"], ["pytorch.resnet18.a"])

        # Live changes, matching and not.
        live = [
            ("register", "pytorch.resnet180.cls1000.b"),
            ("register", "pytorch.resnet18-v2.cls1000.b"),
            ("register", "pytorch2.resnet18.cls1000.b"),
            ("register", "pytorch.resnet18.cls1000.x.b"),  # compatible
            ("overwrite", "pytorch.resnet180.a"),          # training_id
            ("overwrite", "pytorch.resnet18.cls1000.b"),   # compatible, exact
            ("delete", "pytorch.resnet18-v2.a"),           # training_id
            ("delete", "pytorch.resnet18.a"),              # all but exact
            ("register", "pytorch.resnet18.a2"),           # compatible
            ("register", "pytorch.resnet18.cls1000.a"),    # all
        ]
        revision = len(before)
        changes = []
        for action, name in live:
            if action == "register":
                revision = register(self.stub, make_state(name)).state.revision
                changes.append(("TYPE_ADDED", name, revision))
            elif action == "overwrite":
                revision = register(self.stub, make_state(
                    name, uri="s3://x/" + name), allow_overwrite=True
                ).state.revision
                changes.append(("TYPE_UPDATED", name, revision))
            else:
                revision = self.delete(name).revision
                changes.append(("TYPE_DELETED", name, revision))
        self.assertEqual(revision, len(before) + len(live))

        def matching(predicate):
            return [c for c in changes if predicate(make_key(c[1]))]

        def is_resnet18(key):
            return (key.state_type.backend == "pytorch"
                    and key.state_type.architecture == "resnet18")

        want = {
            "compatible": matching(is_resnet18),
            "exact": matching(lambda k: is_resnet18(k)
                              and list(k.state_type.extra) == ["cls1000"]),
            "training_id": matching(lambda k: k.training_id == "a"),
            "both": matching(lambda k: is_resnet18(k)
                             and k.training_id == "a"),
        }
        self.assertEqual(len(want["exact"]), 2)
        for what, reader in (("compatible", compatible), ("exact", exact),
                             ("training_id", by_training_id),
                             ("both", both)):
            with self.subTest(what):
                events = reader.read_until_revision(revision)
                self.assertEqual(summary(events), want[what])


# --- the handover from snapshot to live events --------------------------------------

class Writer:
    """Registers, replaces and deletes states from a thread until stopped."""

    def __init__(self, server, seed, architectures=("a", "b")):
        self.stub = server.stub()
        self.rng = random.Random(seed)
        self.seed = seed
        self.architectures = architectures
        self.stop_event = threading.Event()
        self.errors = []
        self.changes = 0
        self.names = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.counter = 0

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        try:
            while not self.stop_event.is_set():
                self.counter += 1
                choice = self.counter % 10
                if choice == 7 and self.names:
                    name = self.rng.choice(self.names)
                    try:
                        self.stub.DeleteState(pb.DeleteStateRequest(
                            state_key=make_key(name)), timeout=TIMEOUT)
                        self.names.remove(name)
                        self.changes += 1
                    except grpc.RpcError as error:
                        if error.code() != grpc.StatusCode.NOT_FOUND:
                            raise
                elif choice == 3 and self.names:
                    name = self.rng.choice(self.names)
                    register(self.stub, make_state(
                        name, uri="s3://x/%d" % self.counter),
                        allow_overwrite=True)
                    self.changes += 1
                else:
                    name = "w.%s.i%d-k%07d" % (
                        self.rng.choice(self.architectures), self.seed,
                        self.counter)
                    register(self.stub, make_state(name))
                    self.names.append(name)
                    self.changes += 1
        except Exception as error:  # pylint: disable=broad-except
            self.errors.append(error)

    def stop(self):
        self.stop_event.set()
        self.thread.join(30)
        if self.thread.is_alive():
            raise AssertionError("the writer did not stop")


class HandoverTest(WatchTestCase):

    def check_handover(self, reader, final_states, final_revision,
                       filtered_by=None):
        """Checks that snapshot + live events give `final_states`; the
        change at `final_revision` matches every watch (a sentinel).
        Returns (snapshot events, live events before the sentinel)."""
        snapshot, complete = reader.read_snapshot()
        snapshot_revision = complete.revision
        names = [e.state.name for e in snapshot]
        self.assertEqual(len(names), len(set(names)), "snapshot duplicates")
        self.assertEqual([key_tuple(e.state.state_key) for e in snapshot],
                         sorted(key_tuple(e.state.state_key)
                                for e in snapshot))
        for event in snapshot:
            self.assertEqual(event.type, ADDED)
            self.assertLessEqual(event.revision, snapshot_revision)
        live = reader.read_until_revision(final_revision) \
            if final_revision > snapshot_revision else []
        revisions = [e.revision for e in live]
        self.assertEqual(revisions, sorted(set(revisions)),
                         "live revisions not strictly increasing")
        if revisions:
            self.assertGreater(revisions[0], snapshot_revision)
            self.assertLessEqual(revisions[-1], final_revision)
        if filtered_by is None:
            # Every change matches: the live revisions are consecutive.
            self.assertEqual(revisions, list(range(snapshot_revision + 1,
                                                   final_revision + 1)))
        states = apply_events({e.state.name: e.state for e in snapshot}, live)
        self.assertEqual(sorted(states), sorted(final_states))
        for name, state in states.items():
            self.assertEqual(state, final_states[name], name)
        return len(snapshot), len([e for e in live
                                   if e.revision < final_revision])

    def test_snapshot_and_live_events_join_without_gaps(self):
        # A store that is not empty when the writer starts.
        seed = [make_state("w.%s.s%03d" % (a, i)) for a in ("a", "b")
                for i in range(50)]
        for state in seed:
            register(self.stub, state)
        rng = random.Random(3)
        stats = []
        for iteration in range(6):
            writer = Writer(self.server, seed=iteration).start()
            try:
                time.sleep(rng.uniform(0.0, 0.1))
                readers = [self.watch()]
                filtered = self.watch(state_type=state_type("w", "a"))
                time.sleep(rng.uniform(0.0, 0.05))
                readers.append(self.watch())
                time.sleep(rng.uniform(0.05, 0.2))
            finally:
                writer.stop()
            self.assertEqual(writer.errors, [])
            self.assertGreater(writer.changes, 0)
            # A change every watch sees, to know when it has caught up.
            final_revision = register(self.stub, make_state(
                "w.a.sentinel%d" % iteration)).state.revision
            final, responses = list_all(self.stub, page_size=1000)
            self.assertEqual(responses[0].revision, final_revision)
            self.assertEqual({r.revision for r in responses},
                             {final_revision})
            final_states = {s.name: s for s in final}
            for reader in readers:
                stats.append(self.check_handover(reader, final_states,
                                                 final_revision))
            self.check_handover(
                filtered,
                {n: s for n, s in final_states.items()
                 if n.startswith("w.a.")}, final_revision, filtered_by="w.a")
            for reader in readers + [filtered]:
                reader.cancel()
        # The watches really started during the writes.
        self.assertTrue(any(live > 0 for _, live in stats), stats)


# --- history --------------------------------------------------------------------------

class HistoryTest(WatchTestCase):

    SERVER_FLAGS = ("--history=5", "--watch_max_lag=5")

    def test_compacted_history(self):
        names = ["h.a.k%02d" % i for i in range(30)]
        for name in names:
            register(self.stub, make_state(name))
        self.assertEqual(current_revision(self.stub), 30)
        details = self.watch_error(grpc.StatusCode.OUT_OF_RANGE,
                                   "HISTORY_COMPACTED", start_revision=1)
        self.assertIn("oldest_revision", details.metadata, details)
        oldest = int(details.metadata["oldest_revision"])
        # At least the latest 5 changes are kept.
        self.assertGreater(oldest, 1)
        self.assertLessEqual(oldest, 25)
        again = self.watch_error(grpc.StatusCode.OUT_OF_RANGE,
                                 "HISTORY_COMPACTED", start_revision=oldest - 1)
        self.assertEqual(again.metadata.get("oldest_revision"), str(oldest))

        reader = self.watch(start_revision=oldest)
        events = reader.read_until_revision(30)
        self.assertEqual(summary(events), [
            ("TYPE_ADDED", names[r - 1], r) for r in range(oldest + 1, 31)])
        register(self.stub, make_state("h.a.live"))
        self.assertEqual(summary(reader.read_until_revision(31)),
                         [("TYPE_ADDED", "h.a.live", 31)])

        # A snapshot needs no history.
        snapshot = self.watch()
        events, complete = snapshot.read_snapshot()
        self.assertEqual(len(events), 31)
        self.assertEqual(complete.revision, 31)

        # The window moves on.
        for i in range(10):
            register(self.stub, make_state("h.b.k%02d" % i))
        details = self.watch_error(grpc.StatusCode.OUT_OF_RANGE,
                                   "HISTORY_COMPACTED", start_revision=oldest)
        newer = int(details.metadata["oldest_revision"])
        self.assertGreater(newer, oldest)
        self.assertLessEqual(newer, 36)
        reader = self.watch(start_revision=36)
        self.assertEqual([e.revision for e in
                          reader.read_until_revision(41)],
                         [37, 38, 39, 40, 41])


class FlagTest(unittest.TestCase):

    def test_watch_max_lag_must_not_exceed_history(self):
        with statesd.TempDb() as db:
            for flags in (["--history=5"],
                          ["--history=100", "--watch_max_lag=101"],
                          ["--history=0", "--watch_max_lag=0"]):
                with self.subTest(flags=flags):
                    code, stdout, stderr = statesd.run_to_exit(
                        "--db=" + db.path, *flags)
                    self.assertIsNotNone(code, "statesd served with %r: %r"
                                         % (flags, stdout))
                    self.assertNotEqual(code, 0, stderr)
                    self.assertNotIn("serving", stdout)
            with statesd.Statesd("--history=100", "--watch_max_lag=100",
                                 db=db.path) as server:
                self.assertTrue(server.running())


# --- slow consumers ---------------------------------------------------------------------

class SlowConsumerTest(WatchTestCase):

    SERVER_FLAGS = ("--watch_max_lag=20", "--history=100000")
    STATES = 400
    LABELS = 60

    def big_state(self, i):
        labels = {"l%02d" % j: ("%04d" % i) * 250 for j in range(self.LABELS)}
        return make_state("slow.consumer.k%04d" % i, labels=labels)

    def test_slow_consumer_is_cut_off_then_resumes(self):
        register(self.stub, make_state("slow.consumer.first"))
        writer_stub = self.server.stub()
        # Not read until every write is done.
        stalled = self.watch(start=False)
        time.sleep(0.5)
        started = time.monotonic()
        responses = []
        for start in range(0, self.STATES, 16):
            futures = [writer_stub.RegisterState.future(
                pb.RegisterStateRequest(state=self.big_state(i)), timeout=60)
                for i in range(start, min(start + 16, self.STATES))]
            responses.extend(f.result() for f in futures)
        write_seconds = time.monotonic() - started
        final_revision = 1 + self.STATES
        self.assertEqual(current_revision(self.stub), final_revision)
        # The server ends a watch whose client has taken no message for a
        # second (and polls every second): stay stalled for longer.
        time.sleep(2.5)

        stalled.start()
        events, error = stalled.read_to_end(timeout=60)
        self.assertIsNotNone(error, "the stalled watch was not ended: got "
                             "all %d events (wrote %d bytes in %.1fs)" % (
                                 len(events),
                                 sum(len(self.big_state(0).SerializeToString())
                                     for _ in range(self.STATES)),
                                 write_seconds))
        self.assertErrorDetails(statesd.error_details(error),
                                grpc.StatusCode.RESOURCE_EXHAUSTED,
                                "WATCH_TOO_SLOW")
        self.assertTrue(any(m.snapshot_complete for m in stalled.messages),
                        "the watch ended before its snapshot completed")
        received = list(events)
        first_cut = len([e for e in events if e.revision > 1])
        self.assertLess(first_cut, self.STATES)

        resumes = 0
        last = stalled.last_revision()
        while last < final_revision:
            resumes += 1
            self.assertLessEqual(resumes, 10, "no end to the resumes")
            reader = self.watch(start_revision=last)
            try:
                received.extend(reader.read_until_revision(final_revision,
                                                           timeout=60))
            except AssertionError:
                if not isinstance(reader.error, grpc.RpcError):
                    raise
                self.assertErrorDetails(statesd.error_details(reader.error),
                                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                                        "WATCH_TOO_SLOW")
                received.extend(e for m in reader.messages for e in m.events)
            progress = reader.last_revision()
            self.assertGreater(progress, last,
                               "a resumed watch made no progress")
            last = progress
            reader.cancel()

        snapshot = [e for e in received if e.revision == 1]
        live = [e for e in received if e.revision > 1]
        self.assertEqual(len(snapshot), 1)
        self.assertEqual([e.revision for e in live],
                         list(range(2, final_revision + 1)),
                         "events missing or repeated")
        stored = {response.state.revision: response.state
                  for response in responses}
        for event in live:
            self.assertEqual(event.type, ADDED)
            self.assertEqual(event.state, stored[event.revision])
        sys_note = ("\n  slow consumer: %d states (%d KiB each) written in "
                    "%.1fs; the stalled watch got %d of them before "
                    "WATCH_TOO_SLOW; %d resume(s)\n" % (
                        self.STATES,
                        len(self.big_state(0).SerializeToString()) // 1024,
                        write_seconds, first_cut, resumes))
        sys.stderr.write(sys_note)


class WriteBurstTest(WatchTestCase):
    """A client that reads everything in time is not "too slow"."""

    SERVER_FLAGS = ("--watch_max_lag=20",)
    BURST = 64
    BURSTS = 3

    def test_reading_client_survives_bursts_of_concurrent_writes(self):
        # Each burst commits BURST small states at once from another
        # channel: about 100 bytes an event, far below the 64 KiB HTTP/2
        # window, so the client's flow control never holds the server's
        # writes, and the reader takes every message as it comes.
        reader = self.watch()
        reader.read_snapshot()
        writer = self.server.stub()
        revision = 0
        for burst in range(self.BURSTS):
            futures = [writer.RegisterState.future(pb.RegisterStateRequest(
                state=make_state("burst.b%d.k%03d" % (burst, i))),
                timeout=30) for i in range(self.BURST)]
            revision = max(f.result().state.revision for f in futures)
            try:
                reader.read_until_revision(revision, timeout=30)
                continue
            except AssertionError as failure:
                problem = str(failure)
            error = reader.error
            if isinstance(error, grpc.RpcError):
                problem = (
                    "burst %d of %d concurrent registrations ended an "
                    "actively read watch with %s %s: %r (after %d events)"
                    % (burst, self.BURST, error.code(),
                       statesd.error_details(error).reason, error.details(),
                       sum(len(m.events) for m in reader.messages)))
            self.fail(problem)
        events = [e for m in reader.messages for e in m.events]
        self.assertEqual([e.revision for e in events],
                         list(range(1, revision + 1)))


# --- drain ----------------------------------------------------------------------------

class DrainTest(WatchTestCase):

    # An idle client connection holds gRPC's graceful shutdown for a few
    # seconds (observed: about 5s, sometimes 10s), so the grace is
    # long and the bound on the exit generous; the watches themselves must
    # end at once.
    SERVER_FLAGS = ("--drain_grace=60s",)

    def test_sigterm_ends_watches_with_server_draining(self):
        for name in ("d.a.x", "d.a.y", "d.b.x"):
            register(self.stub, make_state(name))
        everything = self.watch()
        everything.read_snapshot()
        filtered = self.watch(state_type=state_type("d", "a"),
                              start_revision=3)
        other_channel = self.server.stub()
        idle = self.watch(stub=other_channel, start_revision=3)
        register(self.stub, make_state("d.a.z"))
        for reader in (everything, filtered, idle):
            reader.read_until_revision(4)

        sigterm_at = time.monotonic()
        self.server.terminate()
        for what, reader in (("snapshot watch", everything),
                             ("filtered watch", filtered),
                             ("idle watch", idle)):
            with self.subTest(what):
                events, error = reader.read_to_end(timeout=8)
                elapsed = time.monotonic() - sigterm_at
                self.assertEqual(events, [])
                self.assertIsInstance(error, grpc.RpcError, error)
                self.assertErrorDetails(statesd.error_details(error),
                                        grpc.StatusCode.UNAVAILABLE,
                                        "SERVER_DRAINING")
                self.assertLess(elapsed, 5.0,
                                "the watch ended %.1fs after SIGTERM" % elapsed)
        try:
            code = self.server.wait(30)
        except Exception:  # subprocess.TimeoutExpired pylint: disable=broad-except
            self.fail("statesd did not exit within 30s of SIGTERM "
                      "(--drain_grace=60s); stdout=%r" % self.server.stdout)
        elapsed = time.monotonic() - sigterm_at
        self.assertEqual(code, 0, self.server.output())
        self.assertLess(elapsed, 20.0, "statesd took %.1fs to drain with "
                        "--drain_grace=60s" % elapsed)
        sys.stderr.write("\n  drain: the watches ended at once; statesd "
                         "exited %.1fs after SIGTERM\n" % elapsed)

        # Resume after the restart, on the same store.
        last = everything.last_revision()
        self.assertEqual(last, 4)
        self.server.start()
        stub = self.server.stub()
        resumed = self.watch(stub=stub, start_revision=last)
        register(stub, make_state("d.a.w"))
        self.assertEqual(summary(resumed.read_until_revision(5)),
                         [("TYPE_ADDED", "d.a.w", 5)])


# --- many idle watches ------------------------------------------------------------------

class ManyWatchesTest(WatchTestCase):

    WATCHES = 200

    def test_idle_watches_do_not_block_other_calls(self):
        register(self.stub, make_state("many.a.x"))
        readers = []
        for i in range(self.WATCHES):
            if i % 2:
                readers.append(self.watch(start_revision=1))
            else:
                readers.append(self.watch(
                    state_type=state_type("many", "a")))
        for i, reader in enumerate(readers):
            if i % 2 == 0:
                reader.read_snapshot(timeout=30)
        # The watches are idle now; other calls on the same channel and on
        # new ones are answered.
        started = time.monotonic()
        for i in range(20):
            register(self.stub, make_state("other.b.k%02d" % i))
            self.stub.GetState(pb.GetStateRequest(
                state_key=make_key("many.a.x")), timeout=TIMEOUT)
            list_all(self.stub, page_size=5)
        fresh = self.server.stub()
        fresh.BatchGetStates(pb.BatchGetStatesRequest(
            state_keys=[make_key("many.a.x")]), timeout=TIMEOUT)
        statesd.health_check(self.server.channel(), "", timeout=TIMEOUT)
        calls_seconds = time.monotonic() - started
        self.assertLess(calls_seconds, 60)

        # Every watch is still alive and gets the next matching change.
        state = register(self.stub, make_state("many.a.y")).state
        for i, reader in enumerate(readers):
            events = reader.read_until_revision(state.revision, timeout=30)
            matching = [e for e in events if e.state.name.startswith("many.")]
            self.assertEqual(summary(matching),
                             [("TYPE_ADDED", "many.a.y", state.revision)],
                             "watch %d" % i)
        for reader in readers:
            reader.cancel()
        # The server is fine after 200 cancellations.
        self.assertEqual(current_revision(self.stub), state.revision)


if __name__ == "__main__":
    unittest.main()
