"""End-to-end tests of the registry rpcs of statesd from a Python client.

RegisterState, GetState, BatchGetStates, ListStates (filters, order, page
tokens, pagination under concurrent writes) and DeleteState, against real
`statesd` processes on 127.0.0.1, each on its own temporary SQLite file.
Every call has a deadline and every wait is bounded.
"""

import itertools
import random
import threading
import time
import unittest

import grpc

import statesd
from statesd import make_key, make_state, key_name, key_tuple, register
from statesd import list_all, current_revision, content
from statesd import state_pb2
from statesd import state_service_pb2 as pb

TIMEOUT = statesd.RPC_TIMEOUT

INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION

COMPATIBLE = pb.STATE_TYPE_MATCH_COMPATIBLE
EXACT = pb.STATE_TYPE_MATCH_EXACT
UNSPECIFIED = pb.STATE_TYPE_MATCH_UNSPECIFIED

MOZUMA_STATES = statesd.MOZUMA_STATES

SHA = "0123456789abcdef" * 4

_unique = itertools.count(1)


def state_type(backend, architecture, *extra):
    return state_pb2.StateType(backend=backend, architecture=architecture,
                               extra=list(extra))


def ns(timestamp):
    return timestamp.ToNanoseconds()


def names(states):
    return [state.name for state in states]


class ServerTestCase(statesd.RpcAssertions, unittest.TestCase):
    """One statesd (fresh temporary store) for the class."""

    SERVER_FLAGS = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = statesd.Statesd(*cls.SERVER_FLAGS)
        cls.addClassCleanup(cls.server.close)
        cls.stub = cls.server.stub()

    def tearDown(self):
        if not self.server.running():
            self.fail("statesd died (exit code %r): %r" % (
                self.server.process.returncode, self.server.output(1.0)))
        super().tearDown()

    def backend(self):
        """A backend name no other test uses: isolates the test's states."""
        return "t%d" % next(_unique)

    def get(self, name):
        return self.stub.GetState(pb.GetStateRequest(state_key=make_key(name)),
                                  timeout=TIMEOUT).state

    def assertNotFound(self, name):
        details = self.assertRpcError(
            self.stub.GetState, pb.GetStateRequest(state_key=make_key(name)),
            NOT_FOUND, "STATE_NOT_FOUND")
        self.assertEqual(details.metadata.get("name"), name, details)


class FreshServerTestCase(ServerTestCase):
    """One statesd (fresh temporary store) per test."""

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()

    def setUp(self):
        super().setUp()
        self.server = statesd.Statesd(*self.SERVER_FLAGS)
        self.addCleanup(self.server.close)
        self.stub = self.server.stub()


def register_many(stub, states, parallel=32):
    """Registers `states` with up to `parallel` calls in flight; returns the
    responses in order."""
    responses = []
    for start in range(0, len(states), parallel):
        futures = [stub.RegisterState.future(
            pb.RegisterStateRequest(state=state), timeout=30)
            for state in states[start:start + parallel]]
        responses.extend(future.result() for future in futures)
    return responses


# --- RegisterState ---------------------------------------------------------------

class RegisterStateTest(ServerTestCase):

    def test_register_creates_and_identical_retry_is_a_no_op(self):
        name = "%s.resnet18.cls1000.imagenet" % self.backend()
        state = make_state(name, sha256=SHA, size_bytes=46830571,
                           labels={"framework_version": "2.1"})
        before = time.time_ns()
        first = register(self.stub, state)
        self.assertTrue(first.created, first)
        self.assertTrue(first.changed, first)
        stored = first.state
        self.assertEqual(stored.name, name)
        self.assertEqual(stored.state_key, state.state_key)
        self.assertEqual(content(stored), content(state))
        self.assertGreater(stored.revision, 0)
        self.assertTrue(stored.HasField("create_time"))
        self.assertEqual(stored.create_time, stored.update_time)
        self.assertLessEqual(abs(ns(stored.create_time) - before), 60 * 10**9)

        retry = register(self.stub, state)
        self.assertFalse(retry.created, retry)
        self.assertFalse(retry.changed, retry)
        self.assertEqual(retry.state, stored)
        self.assertEqual(self.get(name), stored)

    def test_output_only_fields_are_ignored(self):
        name = "%s.resnet18.imagenet" % self.backend()
        state = make_state(name)
        state.name = "not.the.name"
        state.revision = 987654321
        state.create_time.FromSeconds(1000)
        state.update_time.FromSeconds(2000)
        response = register(self.stub, state)
        self.assertTrue(response.created)
        self.assertEqual(response.state.name, name)
        self.assertNotEqual(response.state.revision, 987654321)
        self.assertGreater(response.state.create_time.seconds, 1000000000)
        # Output-only fields are not content: the retry is a no-op.
        plain = register(self.stub, make_state(name))
        self.assertFalse(plain.changed, plain)

    def test_different_content_is_already_exists(self):
        name = "%s.resnet18.cls1000.imagenet" % self.backend()
        original = make_state(name, sha256=SHA, size_bytes=10,
                              labels={"a": "1"})
        stored = register(self.stub, original).state
        variants = {
            "uri": make_state(name, uri="s3://bucket/other.pt", sha256=SHA,
                              size_bytes=10, labels={"a": "1"}),
            "sha256": make_state(name, sha256="f" * 64, size_bytes=10,
                                 labels={"a": "1"}),
            "size_bytes": make_state(name, sha256=SHA, size_bytes=11,
                                     labels={"a": "1"}),
            "size_bytes unset": make_state(name, sha256=SHA,
                                           labels={"a": "1"}),
            "labels": make_state(name, sha256=SHA, size_bytes=10,
                                 labels={"a": "2"}),
            "no labels": make_state(name, sha256=SHA, size_bytes=10),
            "more labels": make_state(name, sha256=SHA, size_bytes=10,
                                      labels={"a": "1", "b": "1"}),
        }
        for what, variant in variants.items():
            with self.subTest(what):
                details = self.assertRpcError(
                    self.stub.RegisterState,
                    pb.RegisterStateRequest(state=variant),
                    ALREADY_EXISTS, "STATE_ALREADY_EXISTS")
                self.assertEqual(details.metadata.get("name"), name, details)
                self.assertEqual(details.metadata.get("revision"),
                                 str(stored.revision), details)
        # Nothing changed.
        self.assertEqual(self.get(name), stored)

    def test_size_bytes_zero_differs_from_unset(self):
        name = "%s.a.b" % self.backend()
        register(self.stub, make_state(name, size_bytes=0))
        self.assertRpcError(self.stub.RegisterState,
                            pb.RegisterStateRequest(state=make_state(name)),
                            ALREADY_EXISTS, "STATE_ALREADY_EXISTS")
        self.assertTrue(self.get(name).HasField("size_bytes"))

    def test_allow_overwrite_replaces_and_keeps_create_time(self):
        name = "%s.densenet161.cls365.places365" % self.backend()
        first = register(self.stub, make_state(name, labels={"v": "1"})).state
        time.sleep(0.01)
        replacement = make_state(name, uri="s3://bucket/new.pt",
                                 labels={"v": "2"}, size_bytes=5)
        response = register(self.stub, replacement, allow_overwrite=True)
        self.assertFalse(response.created, response)
        self.assertTrue(response.changed, response)
        second = response.state
        self.assertEqual(content(second), content(replacement))
        self.assertGreater(second.revision, first.revision)
        self.assertEqual(second.create_time, first.create_time)
        self.assertGreater(ns(second.update_time), ns(first.update_time))
        self.assertEqual(self.get(name), second)

        # allow_overwrite with the same content changes nothing.
        again = register(self.stub, replacement, allow_overwrite=True)
        self.assertFalse(again.created, again)
        self.assertFalse(again.changed, again)
        self.assertEqual(again.state, second)

        # allow_overwrite on a new key creates it.
        other = "%s.densenet161.cls365.other" % self.backend()
        created = register(self.stub, make_state(other), allow_overwrite=True)
        self.assertTrue(created.created and created.changed, created)

    def test_register_accepts_the_limits(self):
        name = "%s.résnet.模型.٣.imagenet" % self.backend()
        labels = {"k%02d" % i: "é" * 512 for i in range(64)}  # 1024 bytes
        uri = "file:///" + "a" * (4096 - len("file:///"))
        state = make_state(name, uri=uri, sha256=SHA, size_bytes=0,
                           labels=labels)
        response = register(self.stub, state)
        self.assertTrue(response.created)
        self.assertEqual(response.state.name, name)
        self.assertEqual(content(self.get(name)), content(state))
        for uri in ("s3://bucket/key.pt", "https://example.com/w.pt?x=1",
                    "file:///srv/states/x.pt", "custom+scheme.v1-2:opaque"):
            with self.subTest(uri=uri):
                other = "%s.a.b" % self.backend()
                self.assertTrue(register(self.stub, make_state(
                    other, uri=uri)).created)

    def test_register_validation_errors(self):
        backend = self.backend()
        good = "%s.resnet18.cls1000.imagenet" % backend

        def bad_state(**fields):
            state = make_state(good)
            for field, value in fields.items():
                if field == "labels":
                    state.labels.clear()
                    state.labels.update(value)
                elif field == "key":
                    state.state_key.CopyFrom(value)
                else:
                    setattr(state, field, value)
            return state

        key = make_key(good)
        dotted_training_id = state_pb2.StateKey()
        dotted_training_id.CopyFrom(key)
        dotted_training_id.training_id = "image.net"
        empty_backend = state_pb2.StateKey()
        empty_backend.CopyFrom(key)
        empty_backend.state_type.backend = ""
        spaced_extra = state_pb2.StateKey()
        spaced_extra.CopyFrom(key)
        spaced_extra.state_type.extra[0] = "cls 1000"
        no_type = state_pb2.StateKey(training_id="imagenet")

        # (what, request, {field: metadata reason or None for any})
        cases = [
            ("no state", pb.RegisterStateRequest(),
             {"state": "MISSING"}),
            ("no key", pb.RegisterStateRequest(state=state_pb2.State(
                uri="file:///x.pt")), {"state.state_key": "MISSING"}),
            ("no state type", pb.RegisterStateRequest(
                state=bad_state(key=no_type)),
             {"state.state_key.state_type": "MISSING"}),
            ("empty uri", pb.RegisterStateRequest(state=bad_state(uri="")),
             {"state.uri": None}),
            ("uri without scheme", pb.RegisterStateRequest(
                state=bad_state(uri="srv/states/x.pt")),
             {"state.uri": "INVALID_FORMAT"}),
            ("uri with a space", pb.RegisterStateRequest(
                state=bad_state(uri="file:///srv/my states/x.pt")),
             {"state.uri": None}),
            ("uri with a newline", pb.RegisterStateRequest(
                state=bad_state(uri="file:///x.pt\n")),
             {"state.uri": None}),
            ("uri too long", pb.RegisterStateRequest(
                state=bad_state(uri="file:///" + "a" * 4089)),
             {"state.uri": None}),
            ("uppercase sha256", pb.RegisterStateRequest(
                state=bad_state(sha256=SHA.upper())),
             {"state.sha256": "INVALID_FORMAT"}),
            ("non-hex sha256", pb.RegisterStateRequest(
                state=bad_state(sha256="g" * 64)),
             {"state.sha256": "INVALID_FORMAT"}),
            ("scheme starting with a digit", pb.RegisterStateRequest(
                state=bad_state(uri="1http://example.com/x.pt")),
             {"state.uri": "INVALID_FORMAT"}),
            ("empty scheme", pb.RegisterStateRequest(
                state=bad_state(uri=":x.pt")),
             {"state.uri": "INVALID_FORMAT"}),
            ("empty label key", pb.RegisterStateRequest(
                state=bad_state(labels={"": "v"})),
             {'state.labels[""]': "EMPTY"}),
            ("short sha256", pb.RegisterStateRequest(
                state=bad_state(sha256=SHA[:-1])),
             {"state.sha256": "INVALID_FORMAT"}),
            ("negative size", pb.RegisterStateRequest(
                state=bad_state(size_bytes=-1)),
             {"state.size_bytes": "OUT_OF_RANGE"}),
            ("dotted training id", pb.RegisterStateRequest(
                state=bad_state(key=dotted_training_id)),
             {"state.state_key.training_id": "INVALID_CHARACTER"}),
            ("empty backend", pb.RegisterStateRequest(
                state=bad_state(key=empty_backend)),
             {"state.state_key.state_type.backend": "EMPTY"}),
            ("spaced extra", pb.RegisterStateRequest(
                state=bad_state(key=spaced_extra)),
             {"state.state_key.state_type.extra[0]": "INVALID_CHARACTER"}),
            ("label key with a space", pb.RegisterStateRequest(
                state=bad_state(labels={"bad key": "v", "good": "v"})),
             {'state.labels["bad key"]': "INVALID_CHARACTER"}),
            ("label value too long", pb.RegisterStateRequest(
                state=bad_state(labels={"k": "x" * 1025})),
             {'state.labels["k"]': None}),
            ("65 labels", pb.RegisterStateRequest(
                state=bad_state(labels={"k%d" % i: "v" for i in range(65)})),
             {"state.labels": "TOO_MANY_LABELS"}),
        ]
        for what, request, want in cases:
            with self.subTest(what):
                details = self.assertRpcError(
                    self.stub.RegisterState, request, INVALID_ARGUMENT,
                    "INVALID_STATE", fields=set(want))
                for field, reason in want.items():
                    if reason is not None:
                        self.assertEqual(details.metadata.get(field), reason,
                                         details)

        # Every bad field at once, in one BadRequest.
        everything = bad_state(uri="no-scheme", sha256="xyz", size_bytes=-5,
                               key=dotted_training_id,
                               labels={"bad key": "v"})
        details = self.assertRpcError(
            self.stub.RegisterState, pb.RegisterStateRequest(state=everything),
            INVALID_ARGUMENT, "INVALID_STATE",
            fields={"state.uri", "state.sha256", "state.size_bytes",
                    "state.state_key.training_id", 'state.labels["bad key"]'})
        self.assertEqual(details.metadata["state.sha256"], "INVALID_FORMAT")
        # Nothing was stored.
        self.assertNotFound(good)
        self.assertNotFound("%s.resnet18.cls1000.image" % backend)


# --- GetState and BatchGetStates ------------------------------------------------

class GetStateTest(ServerTestCase):

    def test_get_returns_the_stored_state(self):
        name = "%s.clip-image-rn50.clip" % self.backend()
        stored = register(self.stub, make_state(name, sha256=SHA)).state
        self.assertEqual(self.get(name), stored)

    def test_get_unknown_key_is_not_found(self):
        backend = self.backend()
        register(self.stub, make_state("%s.resnet18.cls1000.imagenet"
                                       % backend))
        # Neither a prefix, an extension nor another extra matches.
        for name in ("%s.resnet18.imagenet" % backend,
                     "%s.resnet18.cls1000.imagenet2" % backend,
                     "%s.resnet18.cls1000.x.imagenet" % backend,
                     "%s.resnet180.cls1000.imagenet" % backend):
            with self.subTest(name):
                self.assertNotFound(name)

    def test_get_invalid_key(self):
        bad = make_key("a.b.c")
        bad.training_id = "x y"
        self.assertRpcError(self.stub.GetState,
                            pb.GetStateRequest(state_key=bad),
                            INVALID_ARGUMENT, "INVALID_STATE_KEY",
                            fields={"state_key.training_id"})
        self.assertRpcError(self.stub.GetState, pb.GetStateRequest(),
                            INVALID_ARGUMENT, "INVALID_STATE_KEY",
                            fields={"state_key"})

    def test_batch_get_keeps_request_order(self):
        backend = self.backend()
        a = register(self.stub, make_state("%s.x.a" % backend)).state
        b = register(self.stub, make_state("%s.x.cls.b" % backend)).state
        keys = [make_key("%s.x.cls.b" % backend),
                make_key("%s.x.missing" % backend),
                make_key("%s.x.a" % backend),
                make_key("%s.x.cls.b" % backend)]
        response = self.stub.BatchGetStates(
            pb.BatchGetStatesRequest(state_keys=keys), timeout=TIMEOUT)
        self.assertEqual(len(response.results), 4)
        for result, key in zip(response.results, keys):
            self.assertEqual(result.state_key, key)
        self.assertEqual([r.found for r in response.results],
                         [True, False, True, True])
        self.assertEqual(response.results[0].state, b)
        self.assertFalse(response.results[1].HasField("state"))
        self.assertEqual(response.results[2].state, a)
        self.assertEqual(response.results[3].state, b)
        self.assertGreaterEqual(response.revision, b.revision)
        self.assertEqual(response.revision, current_revision(self.stub))

    def test_batch_get_empty_and_limits(self):
        response = self.stub.BatchGetStates(pb.BatchGetStatesRequest(),
                                            timeout=TIMEOUT)
        self.assertEqual(list(response.results), [])
        keys = [make_key("a.b.k%d" % i) for i in range(1000)]
        response = self.stub.BatchGetStates(
            pb.BatchGetStatesRequest(state_keys=keys), timeout=TIMEOUT)
        self.assertEqual(len(response.results), 1000)
        self.assertRpcError(
            self.stub.BatchGetStates,
            pb.BatchGetStatesRequest(state_keys=keys + [make_key("a.b.c")]),
            INVALID_ARGUMENT, "BATCH_TOO_LARGE")

    def test_batch_get_invalid_key(self):
        bad = make_key("a.b.c")
        bad.training_id = "c.d"
        details = self.assertRpcError(
            self.stub.BatchGetStates,
            pb.BatchGetStatesRequest(state_keys=[make_key("a.b.c"), bad,
                                                 state_pb2.StateKey()]),
            INVALID_ARGUMENT, "INVALID_STATE_KEY")
        self.assertIn("state_keys[1].training_id", details.fields)
        self.assertNotIn("state_keys[0].training_id", details.fields)
        self.assertTrue(any(f.startswith("state_keys[2]")
                            for f in details.fields), details)


# --- DeleteState ----------------------------------------------------------------

class DeleteStateTest(ServerTestCase):

    def delete(self, name, expected_revision=0):
        return self.stub.DeleteState(
            pb.DeleteStateRequest(state_key=make_key(name),
                                  expected_revision=expected_revision),
            timeout=TIMEOUT)

    def test_delete_with_expected_revision(self):
        name = "%s.resnet18.cls1000.imagenet" % self.backend()
        first = register(self.stub, make_state(name)).state
        second = register(self.stub, make_state(name, uri="s3://b/k"),
                          allow_overwrite=True).state
        for expected in (first.revision, second.revision + 1000):
            with self.subTest(expected_revision=expected):
                details = self.assertRpcError(
                    self.stub.DeleteState,
                    pb.DeleteStateRequest(state_key=make_key(name),
                                          expected_revision=expected),
                    FAILED_PRECONDITION, "REVISION_MISMATCH")
                self.assertEqual(details.metadata.get("expected_revision"),
                                 str(expected), details)
                self.assertEqual(details.metadata.get("revision"),
                                 str(second.revision), details)
        self.assertEqual(self.get(name), second)  # nothing was deleted

        response = self.delete(name, expected_revision=second.revision)
        self.assertEqual(response.state, second)
        self.assertGreater(response.revision, second.revision)
        self.assertEqual(response.revision, current_revision(self.stub))
        self.assertNotFound(name)
        details = self.assertRpcError(
            self.stub.DeleteState,
            pb.DeleteStateRequest(state_key=make_key(name)),
            NOT_FOUND, "STATE_NOT_FOUND")
        self.assertEqual(details.metadata.get("name"), name)

    def test_delete_without_expected_revision_then_register_again(self):
        name = "%s.arcface.insightface" % self.backend()
        stored = register(self.stub, make_state(name)).state
        deleted = self.delete(name)
        self.assertEqual(deleted.state, stored)
        again = register(self.stub, make_state(name))
        self.assertTrue(again.created, again)
        self.assertGreater(again.state.revision, deleted.revision)

    def test_delete_invalid_requests(self):
        name = "%s.a.b" % self.backend()
        register(self.stub, make_state(name))
        self.assertRpcError(
            self.stub.DeleteState,
            pb.DeleteStateRequest(state_key=make_key(name),
                                  expected_revision=-1),
            INVALID_ARGUMENT, "INVALID_STATE_KEY",
            fields={"expected_revision"})
        self.assertRpcError(self.stub.DeleteState, pb.DeleteStateRequest(),
                            INVALID_ARGUMENT, "INVALID_STATE_KEY",
                            fields={"state_key"})
        bad = make_key(name)
        bad.state_type.architecture = "a.b"
        self.assertRpcError(self.stub.DeleteState,
                            pb.DeleteStateRequest(state_key=bad),
                            INVALID_ARGUMENT, "INVALID_STATE_KEY",
                            fields={"state_key.state_type.architecture"})
        self.get(name)  # still there


# --- revisions ----------------------------------------------------------------

class RevisionTest(FreshServerTestCase):

    def test_every_change_takes_the_next_revision(self):
        self.assertEqual(current_revision(self.stub), 0)
        a = register(self.stub, make_state("p.a.x")).state
        self.assertEqual(a.revision, 1)
        b = register(self.stub, make_state("p.b.x")).state
        self.assertEqual(b.revision, 2)
        # No-ops and failures take no revision.
        register(self.stub, make_state("p.a.x"))
        self.assertRpcError(
            self.stub.RegisterState,
            pb.RegisterStateRequest(state=make_state("p.a.x", uri="s3://x/y")),
            ALREADY_EXISTS, "STATE_ALREADY_EXISTS")
        self.assertRpcError(
            self.stub.DeleteState,
            pb.DeleteStateRequest(state_key=make_key("p.a.x"),
                                  expected_revision=99),
            FAILED_PRECONDITION, "REVISION_MISMATCH")
        self.assertRpcError(
            self.stub.DeleteState,
            pb.DeleteStateRequest(state_key=make_key("p.zz.x")),
            NOT_FOUND, "STATE_NOT_FOUND")
        self.assertEqual(current_revision(self.stub), 2)
        a2 = register(self.stub, make_state("p.a.x", uri="s3://x/y"),
                      allow_overwrite=True).state
        self.assertEqual(a2.revision, 3)
        deleted = self.stub.DeleteState(
            pb.DeleteStateRequest(state_key=make_key("p.b.x")),
            timeout=TIMEOUT)
        self.assertEqual(deleted.revision, 4)
        self.assertEqual(deleted.state.revision, 2)
        self.assertEqual(current_revision(self.stub), 4)
        batch = self.stub.BatchGetStates(
            pb.BatchGetStatesRequest(state_keys=[make_key("p.a.x")]),
            timeout=TIMEOUT)
        self.assertEqual(batch.revision, 4)
        self.assertEqual(register(self.stub, make_state("p.c.x")).state
                         .revision, 5)


# --- ListStates: filters and order -------------------------------------------------

class ListFilterTest(FreshServerTestCase):

    def list_names(self, page_size=0, **filter_fields):
        states, _ = list_all(self.stub, page_size=page_size, **filter_fields)
        return names(states)

    def test_state_type_fields_are_compared_whole(self):
        all_names = [
            "pytorch.resnet18.imagenet",
            "pytorch.resnet18.imagenet2",
            "pytorch.resnet18.cls1000.imagenet",
            "pytorch.resnet18.cls1000.imagenet-v2",
            "pytorch.resnet180.imagenet",
            "pytorch.resnet180.cls1000.imagenet",
            "pytorch.resnet18-v2.imagenet",
            "pytorch.resnet1.imagenet",
            "pytorch.resnet.imagenet",
            "pytorch2.resnet18.imagenet",
            "pytorc.resnet18.imagenet",
            "tf.resnet18.imagenet",
        ]
        register_many(self.stub, [make_state(n) for n in all_names])

        def expected(predicate):
            keys = [make_key(n) for n in all_names if predicate(make_key(n))]
            return [key_name(k) for k in sorted(keys, key=key_tuple)]

        def is_pytorch_resnet18(key):
            return (key.state_type.backend == "pytorch"
                    and key.state_type.architecture == "resnet18")

        want = expected(is_pytorch_resnet18)
        self.assertEqual(want, [
            "pytorch.resnet18.imagenet", "pytorch.resnet18.imagenet2",
            "pytorch.resnet18.cls1000.imagenet",
            "pytorch.resnet18.cls1000.imagenet-v2"])
        for match in (UNSPECIFIED, COMPATIBLE):
            with self.subTest(match=match):
                self.assertEqual(self.list_names(
                    state_type=state_type("pytorch", "resnet18"),
                    match=match), want)
        # The filter's extra does not matter for a compatible listing.
        self.assertEqual(self.list_names(
            state_type=state_type("pytorch", "resnet18", "cls10"),
            match=COMPATIBLE), want)
        self.assertEqual(self.list_names(
            state_type=state_type("pytorch", "resnet1")),
            ["pytorch.resnet1.imagenet"])
        self.assertEqual(self.list_names(
            state_type=state_type("pytorch", "resnet18-v")), [])
        self.assertEqual(self.list_names(
            state_type=state_type("pytorc", "resnet18")),
            ["pytorc.resnet18.imagenet"])

        # training_id is compared whole too, alone or with a state type.
        self.assertEqual(
            self.list_names(training_id="imagenet"),
            expected(lambda k: k.training_id == "imagenet"))
        self.assertEqual(self.list_names(training_id="imagenet-v"), [])
        self.assertEqual(self.list_names(
            state_type=state_type("pytorch", "resnet18"),
            training_id="imagenet"),
            ["pytorch.resnet18.imagenet",
             "pytorch.resnet18.cls1000.imagenet"])
        self.assertEqual(self.list_names(
            state_type=state_type("pytorch", "resnet18", "cls1000"),
            match=EXACT, training_id="imagenet-v2"),
            ["pytorch.resnet18.cls1000.imagenet-v2"])

    def test_compatible_and_exact_match(self):
        extras = [(), ("cls1000",), ("cls1000", "x"), ("cls10",),
                  ("cls10000",), ("x", "cls1000")]
        register_many(self.stub, [
            make_state(".".join(("pytorch", "resnet18") + e + ("imagenet",)))
            for e in extras] + [make_state("pytorch.resnet180.cls1000.a")])
        everything = self.list_names(
            state_type=state_type("pytorch", "resnet18"), match=COMPATIBLE)
        self.assertEqual(everything, [
            "pytorch.resnet18.imagenet",
            "pytorch.resnet18.cls10.imagenet",
            "pytorch.resnet18.cls1000.imagenet",
            "pytorch.resnet18.cls1000.x.imagenet",
            "pytorch.resnet18.cls10000.imagenet",
            "pytorch.resnet18.x.cls1000.imagenet"])
        for extra in extras:
            with self.subTest(extra=extra):
                self.assertEqual(self.list_names(
                    state_type=state_type("pytorch", "resnet18", *extra),
                    match=EXACT),
                    [".".join(("pytorch", "resnet18") + extra
                              + ("imagenet",))])
        self.assertEqual(self.list_names(
            state_type=state_type("pytorch", "resnet18", "cls100"),
            match=EXACT), [])

    def test_listing_order(self):
        all_names = [
            "pytorch.resnet18.imagenet",
            "pytorch.resnet18.a",
            "pytorch.resnet18.Z",
            "pytorch.resnet18._",
            "pytorch.resnet18.-",
            "pytorch.resnet18.9",
            "pytorch.resnet18.a.z",
            "pytorch.resnet18.a.b.z",
            "pytorch.resnet18.ab.z",
            "pytorch.resnet18.a-.z",
            "pytorch.resnet18-v2.a",
            "pytorch.resnet180.a",
            "pytorch.resnet1.a",
            "pytorch.Resnet18.a",
            "pytorch.résnet.a",
            "pytorch.resnet.é",
            "pytorch.resnet.e",
            "pytorch.模型.a",
            "pytorch.model.²",
            "pytorch.model.٣",
            "pytorch.model.3",
            "pytorch-x.a.a",
            "pytorch_x.a.a",
            "pytorchx.a.a",
            "Pytorch.a.a",
            "a.a.a",
            "a.a.cls1000.a",
            "a.a.cls1000.b",
            "a.a.cls365.a",
            "a.a.a.a.a.a",
            "a.b.a",
        ]
        shuffled = list(all_names)
        random.Random(7).shuffle(shuffled)
        register_many(self.stub, [make_state(n) for n in shuffled], 4)
        want = [key_name(k) for k in sorted(
            (make_key(n) for n in all_names), key=key_tuple)]
        for page_size in (0, 1, 3, 1000):
            with self.subTest(page_size=page_size):
                states, responses = list_all(self.stub, page_size=page_size)
                self.assertEqual(names(states), want)
                for state in states:
                    self.assertEqual(state.name, key_name(state.state_key))
                if page_size == 1:
                    self.assertEqual(len(responses), len(all_names))
                for response in responses:
                    self.assertEqual(response.revision, len(all_names))

    def test_match_without_state_type_is_ignored(self):
        all_names = ["a.b.c", "a.b.x.c", "d.e.f"]
        register_many(self.stub, [make_state(n) for n in all_names])
        for match in (COMPATIBLE, EXACT):
            with self.subTest(match=match):
                self.assertEqual(self.list_names(match=match), all_names)
                self.assertEqual(self.list_names(match=match,
                                                 training_id="c"),
                                 ["a.b.c", "a.b.x.c"])

    def test_invalid_filters(self):
        cases = [
            ("bad backend", dict(state_type=state_type("py torch", "a")),
             {"state_type.backend"}),
            ("missing architecture", dict(state_type=state_type("a", "")),
             {"state_type.architecture"}),
            ("bad extra", dict(state_type=state_type("a", "b", "c.d"),
                               match=EXACT), {"state_type.extra[0]"}),
            ("bad training_id", dict(training_id="a.b"), {"training_id"}),
            ("negative page_size", dict(page_size=-1), {"page_size"}),
        ]
        for what, fields, want in cases:
            with self.subTest(what):
                self.assertRpcError(
                    self.stub.ListStates, pb.ListStatesRequest(**fields),
                    INVALID_ARGUMENT, "INVALID_FILTER", fields=want)

    def test_unknown_match_is_refused(self):
        # Proto3 enums are open: Python sends any number, and statesd used
        # to read one it does not declare as COMPATIBLE.
        register_many(self.stub, [make_state("pytorch.resnet18.a"),
                                  make_state("pytorch.resnet18.b")])
        resnet18 = state_type("pytorch", "resnet18")
        token = self.stub.ListStates(
            pb.ListStatesRequest(state_type=resnet18, page_size=1),
            timeout=TIMEOUT).next_page_token
        self.assertTrue(token)
        for match in (99, 3, -1):
            for what, fields in (
                    ("with state_type", dict(state_type=resnet18)),
                    ("without state_type", {}),
                    ("with a page token", dict(state_type=resnet18,
                                               page_token=token))):
                with self.subTest(match=match, what=what):
                    details = self.assertRpcError(
                        self.stub.ListStates,
                        pb.ListStatesRequest(match=match, **fields),
                        INVALID_ARGUMENT, "INVALID_FILTER", fields={"match"})
                    self.assertEqual(details.metadata,
                                     {"match": "UNKNOWN_ENUM_VALUE"})
                    [(_, description)] = details.field_violations
                    self.assertIn("is %d" % match, description)
                    for value in ("STATE_TYPE_MATCH_UNSPECIFIED (0)",
                                  "STATE_TYPE_MATCH_COMPATIBLE (1)",
                                  "STATE_TYPE_MATCH_EXACT (2)"):
                        self.assertIn(value, description)
        # The declared values still work, and unset is COMPATIBLE: the
        # token of an unset match continues a COMPATIBLE listing.
        response = self.stub.ListStates(
            pb.ListStatesRequest(state_type=resnet18, match=COMPATIBLE,
                                 page_token=token), timeout=TIMEOUT)
        self.assertEqual(names(response.states), ["pytorch.resnet18.b"])


# --- ListStates: pages and page tokens ---------------------------------------------

class PaginationTest(FreshServerTestCase):

    def test_page_size_default_and_maximum(self):
        count = 1100
        all_names = ["pytorch.resnet18.k%04d" % i for i in range(count)]
        started = time.monotonic()
        register_many(self.stub, [make_state(n) for n in all_names])
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 60, "1100 registrations took %.1fs" % elapsed)

        first = self.stub.ListStates(pb.ListStatesRequest(page_size=0),
                                     timeout=TIMEOUT)
        self.assertGreater(len(first.states), 0)
        self.assertLessEqual(len(first.states), 100)
        self.assertTrue(first.next_page_token)
        big = self.stub.ListStates(pb.ListStatesRequest(page_size=5000),
                                   timeout=TIMEOUT)
        self.assertGreater(len(big.states), 100)
        self.assertLessEqual(len(big.states), 1000)
        self.assertTrue(big.next_page_token)
        for page_size in (0, 5000, 2**31 - 1, 333):
            with self.subTest(page_size=page_size):
                states, responses = list_all(self.stub, page_size=page_size)
                self.assertEqual(names(states), all_names)
                limit = {0: 100, 333: 333}.get(page_size, 1000)
                for response in responses:
                    self.assertLessEqual(len(response.states), limit)
        # page_size may change between pages.
        token = ""
        seen = []
        for page_size in itertools.cycle((1, 7, 0, 250)):
            response = self.stub.ListStates(
                pb.ListStatesRequest(page_size=page_size, page_token=token),
                timeout=TIMEOUT)
            seen.extend(names(response.states))
            token = response.next_page_token
            if not token:
                break
        self.assertEqual(seen, all_names)

    def first_token(self, **filter_fields):
        response = self.stub.ListStates(
            pb.ListStatesRequest(page_size=1, **filter_fields),
            timeout=TIMEOUT)
        self.assertTrue(response.next_page_token, response)
        return response.next_page_token

    def assertBadToken(self, token, what, **filter_fields):
        with self.subTest(what):
            self.assertRpcError(
                self.stub.ListStates,
                pb.ListStatesRequest(page_token=token, **filter_fields),
                INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", fields={"page_token"})

    def test_page_token_is_bound_to_its_filter(self):
        register_many(self.stub, [make_state(n) for n in (
            "pytorch.resnet18.a", "pytorch.resnet18.cls1000.a",
            "pytorch.resnet18.cls1000.b", "pytorch.resnet18.b",
            "pytorch.resnet50.a", "pytorch.resnet50.b")])
        resnet18 = dict(state_type=state_type("pytorch", "resnet18"),
                        match=COMPATIBLE)
        token = self.first_token(**resnet18)
        # The same filter with another page_size continues the listing.
        response = self.stub.ListStates(
            pb.ListStatesRequest(page_token=token, page_size=10, **resnet18),
            timeout=TIMEOUT)
        self.assertEqual(names(response.states), [
            "pytorch.resnet18.b", "pytorch.resnet18.cls1000.a",
            "pytorch.resnet18.cls1000.b"])
        self.assertBadToken(token, "no filter")
        self.assertBadToken(token, "other architecture",
                            state_type=state_type("pytorch", "resnet50"))
        self.assertBadToken(token, "other backend",
                            state_type=state_type("tf", "resnet18"))
        self.assertBadToken(token, "exact match",
                            state_type=state_type("pytorch", "resnet18"),
                            match=EXACT)
        self.assertBadToken(token, "training_id added",
                            training_id="a", **resnet18)
        exact = dict(state_type=state_type("pytorch", "resnet18", "cls1000"),
                     match=EXACT)
        exact_token = self.first_token(**exact)
        self.assertBadToken(exact_token, "other extra",
                            state_type=state_type("pytorch", "resnet18",
                                                  "cls100"), match=EXACT)
        self.assertBadToken(exact_token, "compatible match",
                            state_type=state_type("pytorch", "resnet18",
                                                  "cls1000"),
                            match=COMPATIBLE)
        by_training_id = self.first_token(training_id="a")
        self.assertBadToken(by_training_id, "other training_id",
                            training_id="b")
        self.assertBadToken(by_training_id, "training_id dropped")
        unfiltered = self.first_token()
        self.assertBadToken(unfiltered, "filter added", **resnet18)

    def test_altered_tokens_are_rejected(self):
        register_many(self.stub, [make_state("p.a.k%d" % i)
                                  for i in range(5)])
        token = self.first_token()
        alphabet = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789")
        positions = sorted({0, 1, len(token) // 4, len(token) // 3,
                            len(token) // 2, 2 * len(token) // 3,
                            3 * len(token) // 4, len(token) - 4})
        flipped = 0
        for position in positions:
            if not 0 <= position < len(token) - 3:
                continue
            char = token[position]
            if char not in alphabet:
                continue
            replacement = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
            altered = token[:position] + replacement + token[position + 1:]
            self.assertBadToken(altered, "char %d %r -> %r" % (
                position, char, replacement))
            flipped += 1
        self.assertGreater(flipped, 3, "token %r" % token)
        self.assertBadToken(token[:-4], "truncated")
        self.assertBadToken(token[:len(token) // 2], "half")
        self.assertBadToken(token + "AAAA", "extended")
        self.assertBadToken("garbage", "garbage")
        self.assertBadToken("%%%\u00e9", "not base64")
        self.assertBadToken("A" * 5000, "long")
        # The original still works.
        response = self.stub.ListStates(
            pb.ListStatesRequest(page_token=token), timeout=TIMEOUT)
        self.assertEqual(names(response.states),
                         ["p.a.k%d" % i for i in range(1, 5)])

    def test_token_from_another_store_is_rejected(self):
        register_many(self.stub, [make_state("p.a.k%d" % i)
                                  for i in range(3)])
        with statesd.Statesd() as other:
            other_stub = other.stub()
            register_many(other_stub, [make_state("p.a.k%d" % i)
                                       for i in range(3)])
            foreign = other_stub.ListStates(
                pb.ListStatesRequest(page_size=1),
                timeout=TIMEOUT).next_page_token
            self.assertTrue(foreign)
        self.assertBadToken(foreign, "another store's token")

    def test_token_survives_restart(self):
        with statesd.TempDb() as db:
            server = statesd.Statesd(db=db.path)
            self.addCleanup(server.close)
            stub = server.stub()
            all_names = ["pytorch.densenet161.k%02d" % i for i in range(30)]
            register_many(stub, [make_state(n) for n in all_names])
            filters = dict(state_type=state_type("pytorch", "densenet161"))
            first = stub.ListStates(
                pb.ListStatesRequest(page_size=10, **filters),
                timeout=TIMEOUT)
            self.assertEqual(names(first.states), all_names[:10])
            self.assertEqual(server.restart(), 0)
            stub = server.stub()
            rest, _ = [], None
            token = first.next_page_token
            while token:
                page = stub.ListStates(
                    pb.ListStatesRequest(page_size=7, page_token=token,
                                         **filters), timeout=TIMEOUT)
                rest.extend(names(page.states))
                token = page.next_page_token
            self.assertEqual(rest, all_names[10:])
            server.close()

    def test_pagination_under_concurrent_writes(self):
        rng = random.Random(11)
        architectures = ["a", "b", "c", "d"]

        def random_name(tag):
            return "p.%s.%s%06d" % (rng.choice(architectures), tag,
                                    rng.randrange(10**6))

        stable = sorted({random_name("s") for _ in range(300)})
        volatile = sorted({random_name("v") for _ in range(150)} - set(stable))
        register_many(self.stub, [make_state(n) for n in stable + volatile])

        lock = threading.Lock()
        walk_started = threading.Event()
        walk_done = threading.Event()
        inserted_before_walk = set()
        inserted = set()
        delete_started = set()
        errors = []

        def inserter(seed):
            local = random.Random(seed)
            stub = self.server.stub()
            while not walk_done.is_set():
                name = "p.%s.i%06d" % (local.choice(architectures),
                                       local.randrange(10**6))
                with lock:
                    inserted.add(name)
                try:
                    register(stub, make_state(name))
                except grpc.RpcError as error:
                    errors.append(("register", name, error.code()))
                    return
                with lock:
                    if not walk_started.is_set():
                        inserted_before_walk.add(name)

        def deleter():
            stub = self.server.stub()
            order = list(volatile)
            random.Random(5).shuffle(order)
            for name in order:
                with lock:
                    if walk_done.is_set():
                        return
                    delete_started.add(name)
                try:
                    stub.DeleteState(
                        pb.DeleteStateRequest(state_key=make_key(name)),
                        timeout=TIMEOUT)
                except grpc.RpcError as error:
                    errors.append(("delete", name, error.code()))
                    return
                time.sleep(0.002)

        threads = [threading.Thread(target=inserter, args=(i,), daemon=True)
                   for i in range(2)]
        threads.append(threading.Thread(target=deleter, daemon=True))
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        with lock:
            walk_started.set()
        seen = []
        token = ""
        pages = 0
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                response = self.stub.ListStates(
                    pb.ListStatesRequest(page_size=9, page_token=token),
                    timeout=TIMEOUT)
                pages += 1
                seen.extend(response.states)
                token = response.next_page_token
                if not token:
                    break
                time.sleep(0.005)
            else:
                self.fail("the walk did not end within 60s")
        finally:
            with lock:
                walk_done.set()
            for thread in threads:
                thread.join(15)
        self.assertEqual(errors, [])
        seen_names = names(seen)
        self.assertEqual(len(seen_names), len(set(seen_names)),
                         "duplicates: %r" % sorted(
                             n for n in set(seen_names)
                             if seen_names.count(n) > 1))
        keys = [key_tuple(state.state_key) for state in seen]
        self.assertEqual(keys, sorted(keys), "pages out of order")
        missing_stable = set(stable) - set(seen_names)
        self.assertEqual(missing_stable, set(),
                         "stable states missing from the walk")
        never_deleted = set(volatile) - delete_started
        self.assertEqual(never_deleted - set(seen_names), set(),
                         "states never deleted missing from the walk")
        self.assertEqual(inserted_before_walk - set(seen_names), set(),
                         "states inserted before the walk missing")
        unknown = set(seen_names) - set(stable) - set(volatile) - inserted
        self.assertEqual(unknown, set())
        # The writers really ran during the walk.
        self.assertGreater(pages, 20)
        self.assertGreater(len(delete_started), 0)
        self.assertGreater(len(inserted - inserted_before_walk), 0)


# --- concurrency -----------------------------------------------------------------

class ConcurrentRegistrationTest(ServerTestCase):

    THREADS = 16

    def race(self, make_request):
        """Sends make_request(i) from THREADS threads, each on its own
        channel, released together; returns [(response or None, error)]."""
        channels = [grpc.insecure_channel(self.server.address)
                    for _ in range(self.THREADS)]
        for channel in channels:
            self.addCleanup(channel.close)
        stubs = [statesd.state_service_pb2_grpc.StateServiceStub(channel)
                 for channel in channels]
        for stub in stubs:  # connect first, so the calls really race
            stub.ListStates(pb.ListStatesRequest(page_size=1),
                            timeout=TIMEOUT)
        barrier = threading.Barrier(self.THREADS, timeout=20)
        results = [None] * self.THREADS

        def run(i):
            request = make_request(i)
            barrier.wait()
            try:
                results[i] = (stubs[i].RegisterState(request,
                                                     timeout=TIMEOUT), None)
            except grpc.RpcError as error:
                results[i] = (None, error)

        threads = [threading.Thread(target=run, args=(i,), daemon=True)
                   for i in range(self.THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertTrue(all(r is not None for r in results), results)
        return results

    def test_one_key_from_16_channels_creates_once(self):
        for round_number in range(5):
            name = "%s.resnet18.cls1000.r%d" % (self.backend(), round_number)
            state = make_state(name, sha256=SHA)
            results = self.race(
                lambda i, s=state: pb.RegisterStateRequest(state=s))
            errors = [e for _, e in results if e is not None]
            self.assertEqual(errors, [])
            responses = [r for r, _ in results]
            self.assertEqual(sum(r.created for r in responses), 1,
                             [(r.created, r.changed) for r in responses])
            self.assertEqual(sum(r.changed for r in responses), 1)
            self.assertEqual(len({r.state.revision for r in responses}), 1)
            self.assertEqual(len({r.state.SerializeToString(
                deterministic=True) for r in responses}), 1)
            self.assertEqual(self.get(name), responses[0].state)

    def test_different_contents_for_one_key_one_wins(self):
        name = "%s.resnet18.cls1000.imagenet" % self.backend()
        results = self.race(lambda i: pb.RegisterStateRequest(
            state=make_state(name, uri="s3://bucket/%d.pt" % i)))
        winners = [r for r, e in results if e is None]
        losers = [e for r, e in results if e is not None]
        self.assertEqual(len(winners), 1, results)
        self.assertTrue(winners[0].created)
        for error in losers:
            details = statesd.error_details(error)
            self.assertErrorDetails(details, ALREADY_EXISTS,
                                    "STATE_ALREADY_EXISTS")
            self.assertEqual(details.metadata.get("revision"),
                             str(winners[0].state.revision))
        self.assertEqual(self.get(name), winners[0].state)


# --- reads see one revision --------------------------------------------------------

class ConsistentReadTest(ServerTestCase):

    def test_batch_get_and_list_read_one_revision(self):
        # One writer registers keys in order, each after the previous one was
        # acknowledged: a read at one revision sees a prefix of them, and its
        # revision is that of the last key it sees.
        backend = self.backend()
        count = 300
        all_names = ["%s.seq.k%04d" % (backend, i) for i in range(count)]
        keys = [make_key(n) for n in all_names]
        revisions = {}
        errors = []
        base = current_revision(self.stub)

        def writer():
            stub = self.server.stub()
            try:
                for name in all_names:
                    revisions[name] = register(stub, make_state(name)) \
                        .state.revision
            except grpc.RpcError as error:  # pragma: no cover
                errors.append(error)

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        reads = 0
        deadline = time.monotonic() + 60
        while thread.is_alive() and time.monotonic() < deadline:
            batch = self.stub.BatchGetStates(
                pb.BatchGetStatesRequest(state_keys=keys), timeout=TIMEOUT)
            found = [r.found for r in batch.results]
            seen = found.count(True)
            self.assertEqual(found, [True] * seen + [False] * (count - seen),
                             "BatchGetStates saw a key without its "
                             "predecessors")
            self.assertEqual(batch.revision, base + seen)
            for result in batch.results[:seen]:
                self.assertLessEqual(result.state.revision, batch.revision)
            page = self.stub.ListStates(pb.ListStatesRequest(
                state_type=state_type(backend, "seq"), page_size=1000),
                timeout=TIMEOUT)
            listed = names(page.states)
            self.assertEqual(listed, all_names[:len(listed)])
            self.assertEqual(page.revision, base + len(listed))
            reads += 1
        thread.join(30)
        self.assertFalse(thread.is_alive(), "the writer did not finish")
        self.assertEqual(errors, [])
        self.assertEqual(sorted(revisions.values()),
                         list(range(base + 1, base + count + 1)))
        self.assertGreater(reads, 3)


# --- MoZuMa's pretrained states ---------------------------------------------------

class MozumaStatesTest(FreshServerTestCase):

    def test_register_and_list_mozuma_pretrained_states(self):
        for name in MOZUMA_STATES:
            parsed = self.stub.ParseStateKey(pb.ParseStateKeyRequest(
                name=name), timeout=TIMEOUT).state_key
            self.assertEqual(parsed, make_key(name))
            response = register(self.stub, make_state(parsed, sha256=SHA))
            self.assertTrue(response.created, name)
            self.assertEqual(response.state.name, name)

        states, _ = list_all(self.stub)
        self.assertEqual(names(states), sorted(
            MOZUMA_STATES, key=lambda n: key_tuple(make_key(n))))

        # MoZuMa's get_state_keys(StateType("pytorch", "densenet161")).
        densenet, _ = list_all(
            self.stub, state_type=state_type("pytorch", "densenet161"))
        self.assertEqual(names(densenet), [
            "pytorch.densenet161.cls1000.imagenet",
            "pytorch.densenet161.cls365.places365"])
        places, _ = list_all(
            self.stub, state_type=state_type("pytorch", "densenet161",
                                             "cls365"), match=EXACT)
        self.assertEqual(names(places),
                         ["pytorch.densenet161.cls365.places365"])
        clip, _ = list_all(self.stub, training_id="clip")
        self.assertEqual(names(clip), ["pytorch.clip-image-rn50.clip",
                                       "pytorch.clip-text-rn50.clip"])
        resnet, _ = list_all(
            self.stub, state_type=state_type("pytorch", "resnet18", "cls1000"),
            match=EXACT)
        self.assertEqual(names(resnet), ["pytorch.resnet18.cls1000.imagenet"])
        batch = self.stub.BatchGetStates(pb.BatchGetStatesRequest(
            state_keys=[make_key(n) for n in MOZUMA_STATES]), timeout=TIMEOUT)
        self.assertTrue(all(r.found for r in batch.results))
        self.assertEqual([r.state.name for r in batch.results], MOZUMA_STATES)


if __name__ == "__main__":
    unittest.main()
