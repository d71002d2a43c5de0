"""End-to-end tests of statesd from a Python gRPC client.

Each test class starts real `statesd` processes on 127.0.0.1 (a free port)
and talks to them over the network with the stubs generated from
proto/mozuma/states/v1. Every call has a deadline, so nothing can hang.
"""

import queue
import random
import re
import signal
import sys
import threading
import time
import unicodedata
import unittest

import grpc

import statesd
from statesd import state_pb2
from statesd import state_service_pb2 as pb

TIMEOUT = 10  # seconds, for every unary call
DEFAULT_MAX_BATCH_SIZE = 1000

INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT

# MoZuMa's own name pattern (mozuma/states/types.py).
MOZUMA_VALID_NAMES = re.compile(r"^[\w\-\d]+$")

R = pb.ViolationReason
MISSING = pb.VIOLATION_REASON_MISSING
EMPTY = pb.VIOLATION_REASON_EMPTY
INVALID_UTF8 = pb.VIOLATION_REASON_INVALID_UTF8
INVALID_CHARACTER = pb.VIOLATION_REASON_INVALID_CHARACTER
TOO_LONG = pb.VIOLATION_REASON_TOO_LONG
TOO_MANY_EXTRAS = pb.VIOLATION_REASON_TOO_MANY_EXTRAS

EXACT = pb.COMPATIBILITY_EXACT
COMPATIBLE = pb.COMPATIBILITY_COMPATIBLE
INCOMPATIBLE = pb.COMPATIBILITY_INCOMPATIBLE

METHODS = {
    "ValidateStateTypes": (pb.ValidateStateTypesRequest,
                           pb.ValidateStateTypesResponse),
    "ValidateStateKeys": (pb.ValidateStateKeysRequest,
                          pb.ValidateStateKeysResponse),
    "CheckCompatibility": (pb.CheckCompatibilityRequest,
                           pb.CheckCompatibilityResponse),
    "ParseStateKey": (pb.ParseStateKeyRequest, pb.ParseStateKeyResponse),
}
KNOWN_ERROR_REASONS = {"MALFORMED_REQUEST", "BATCH_TOO_LARGE",
                       "INVALID_STATE_TYPE", "INVALID_STATE_NAME"}


def state_type(backend, architecture, *extra):
    return state_pb2.StateType(backend=backend, architecture=architecture,
                               extra=list(extra))


def state_key(backend, architecture, extra, training_id):
    return state_pb2.StateKey(
        state_type=state_type(backend, architecture, *extra),
        training_id=training_id)


def reason_name(reason):
    return R.Name(reason)


# --- hand-written protobuf wire encoding (for bytes protobuf won't emit) ----

def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(field_number, payload):
    return varint(field_number << 3 | 2) + varint(len(payload)) + payload


def raw_state_type(backend, architecture, *extra):
    out = length_delimited(1, backend) + length_delimited(2, architecture)
    for element in extra:
        out += length_delimited(3, element)
    return out


class ServiceTestCase(statesd.RpcAssertions, unittest.TestCase):
    """Starts one statesd for the class, with SERVER_FLAGS."""

    SERVER_FLAGS = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = statesd.Statesd(*cls.SERVER_FLAGS)
        cls.addClassCleanup(cls.server.close)
        cls.channel = cls.server.channel()
        cls.stub = statesd.state_service_pb2_grpc.StateServiceStub(cls.channel)

    def tearDown(self):
        # A crash anywhere in a test shows up here, next to its cause.
        if not self.server.running():
            self.fail("statesd died (exit code %r): %r" % (
                self.server.process.returncode, self.server.output(1.0)))
        super().tearDown()

    def assertViolations(self, result, expected):
        """expected: [(field, reason, [substrings of the description])]."""
        got = [(v.field, reason_name(v.reason)) for v in result.violations]
        want = [(field, reason_name(reason)) for field, reason, _ in expected]
        self.assertEqual(got, want, result)
        self.assertFalse(result.valid, result)
        self.assertEqual(result.name, "", result)
        for violation, (_, _, substrings) in zip(result.violations, expected):
            for substring in substrings:
                self.assertIn(substring, violation.description, violation)

    def assertValid(self, result, name):
        self.assertTrue(result.valid, result)
        self.assertEqual(list(result.violations), [], result)
        self.assertEqual(result.name, name, result)


# --- a. the name rules agree with MoZuMa's pattern, code point by code point --

def assigned_code_points():
    """Every code point Python's unicodedata assigns, without surrogates."""
    for code_point in range(0x110000):
        category = unicodedata.category(chr(code_point))
        if category not in ("Cn", "Cs"):
            yield code_point


class UnicodeAgreementTest(ServiceTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.code_points = list(assigned_code_points())

    def validate_names(self, names):
        """Server verdicts for StateType(backend=name, architecture="a")."""
        results = []
        for start in range(0, len(names), DEFAULT_MAX_BATCH_SIZE):
            batch = names[start:start + DEFAULT_MAX_BATCH_SIZE]
            response = self.stub.ValidateStateTypes(
                pb.ValidateStateTypesRequest(
                    state_types=[state_type(name, "a") for name in batch]),
                timeout=TIMEOUT)
            self.assertEqual(len(response.results), len(batch))
            results.extend(response.results)
        return results

    def check_agreement(self, prefix):
        """Returns (disagreements, results by code point)."""
        self.assertEqual(self.server.charset, "unicode")
        names = [prefix + chr(cp) for cp in self.code_points]
        started = time.monotonic()
        results = self.validate_names(names)
        elapsed = time.monotonic() - started
        disagreements = []
        detail_problems = []
        for code_point, name, result in zip(self.code_points, names, results):
            python_valid = MOZUMA_VALID_NAMES.match(name) is not None
            if result.valid != python_valid:
                disagreements.append(code_point)
            if result.valid:
                if result.name != name + ".a" or result.violations:
                    detail_problems.append((code_point, result))
            else:
                want = "U+%04X" % code_point
                index = "index %d" % len(prefix)
                if ([(v.field, v.reason) for v in result.violations]
                        != [("backend", INVALID_CHARACTER)]
                        or want not in result.violations[0].description
                        or index not in result.violations[0].description
                        or result.violations[0].value != name
                        or result.name):
                    detail_problems.append((code_point, result))
        valid = sum(1 for result in results if result.valid)
        sys.stderr.write(
            "\n  names %r+c: %d code points checked (U+0000..U+10FFFF, "
            "unicodedata %s, categories Cn and Cs excluded) in %.1fs: "
            "%d valid, %d invalid, %d disagreements with MoZuMa's pattern "
            "%s\n" % (prefix, len(names), unicodedata.unidata_version,
                      elapsed, valid, len(names) - valid, len(disagreements),
                      ["U+%04X" % cp for cp in disagreements[:20]]))
        self.assertEqual(detail_problems[:5], [],
                         "%d results with wrong details" % len(detail_problems))
        return disagreements, dict(zip(self.code_points, results))

    def test_single_code_point_names_agree_with_mozuma_pattern(self):
        self.assertGreater(len(self.code_points), 140000)
        disagreements, _ = self.check_agreement("")

        def describe(cp):
            return "U+%04X %s (%s)" % (cp, unicodedata.name(chr(cp), "?"),
                                       unicodedata.category(chr(cp)))
        self.assertEqual([describe(cp) for cp in disagreements[:50]], [],
                         "%d code points where statesd and "
                         "re.match(r'^[\\w\\-\\d]+$', c) disagree"
                         % len(disagreements))

    def test_names_after_a_letter_agree_except_final_newline(self):
        disagreements, results = self.check_agreement("a")
        # MoZuMa's `$` matches before a final newline; statesd rejects it.
        self.assertEqual(["U+%04X" % cp for cp in disagreements], ["U+000A"])
        self.assertIsNotNone(MOZUMA_VALID_NAMES.match("a\n"))
        newline = results[0x0A]
        self.assertViolations(newline, [
            ("backend", INVALID_CHARACTER, ["U+000A", "index 1"])])


# --- b. every rpc over the network --------------------------------------------

class StateServiceTest(ServiceTestCase):

    # ValidateStateKeys -------------------------------------------------------

    def test_validate_state_keys_keeps_order_and_names_valid_keys(self):
        keys = [
            state_key("pytorch", "resnet18", ["cls1000"], "imagenet"),
            state_key("pytorch", "resnet18", ["e\u0301"], "a.b"),
            state_key("pytorch", "résnet", ["模型", "٣", "²", "½"], "imagenet"),
            state_key("", "res net", [], "imagenet"),
            state_key("pytorch", "clip-image-rn50", [], "clip"),
            state_key("pytorch", "resnet18", ["cls1000"], "imagenet\n"),
            state_key("pytorch", "resnet18", ["ok", "x y", "ok", "z!"],
                      "imagenet"),
        ]
        response = self.stub.ValidateStateKeys(
            pb.ValidateStateKeysRequest(state_keys=keys), timeout=TIMEOUT)
        results = response.results
        self.assertEqual(len(results), len(keys))
        self.assertValid(results[0], "pytorch.resnet18.cls1000.imagenet")
        self.assertViolations(results[1], [
            ("state_type.extra[0]", INVALID_CHARACTER,
             ["U+0301", "COMBINING ACUTE ACCENT", "index 1"]),
            ("training_id", INVALID_CHARACTER, ["U+002E", "index 1"]),
        ])
        self.assertEqual(results[1].violations[0].value, "e\u0301")
        self.assertEqual(results[1].violations[1].value, "a.b")
        self.assertValid(results[2], "pytorch.résnet.模型.٣.².½.imagenet")
        self.assertViolations(results[3], [
            ("state_type.backend", EMPTY, []),
            ("state_type.architecture", INVALID_CHARACTER,
             ["U+0020", "index 3"]),
        ])
        self.assertValid(results[4], "pytorch.clip-image-rn50.clip")
        self.assertViolations(results[5], [
            ("training_id", INVALID_CHARACTER, ["U+000A", "index 8"])])
        self.assertViolations(results[6], [
            ("state_type.extra[1]", INVALID_CHARACTER, ["U+0020", "index 1"]),
            ("state_type.extra[3]", INVALID_CHARACTER, ["U+0021", "index 1"]),
        ])

    def test_validate_state_keys_missing_state_type(self):
        response = self.stub.ValidateStateKeys(
            pb.ValidateStateKeysRequest(state_keys=[
                state_pb2.StateKey(training_id="imagenet"),
                state_pb2.StateKey(),
            ]), timeout=TIMEOUT)
        self.assertEqual(len(response.results), 2)
        self.assertViolations(response.results[0],
                              [("state_type", MISSING, [])])
        self.assertViolations(response.results[1], [
            ("state_type", MISSING, []), ("training_id", EMPTY, [])])

    def test_validate_state_keys_empty_batch(self):
        response = self.stub.ValidateStateKeys(
            pb.ValidateStateKeysRequest(), timeout=TIMEOUT)
        self.assertEqual(list(response.results), [])

    # ValidateStateTypes ------------------------------------------------------

    def test_validate_state_types(self):
        types = [
            state_type("pytorch", "resnet18", "cls1000"),
            state_type("pytorch", "densenet161"),
            state_type("pytorch", "resnet18", "cls 1000"),
            state_type("torch.nn", ""),
            state_type("a" * 255, "b"),
            state_type("a" * 256, "b"),
            state_type("é" * 127 + "a", "b"),       # 255 bytes of UTF-8
            state_type("é" * 128, "b"),             # 256 bytes of UTF-8
            state_type("a", "b", *(["x"] * 32)),
            state_type("a", "b", *(["x y"] * 33)),
        ]
        response = self.stub.ValidateStateTypes(
            pb.ValidateStateTypesRequest(state_types=types), timeout=TIMEOUT)
        results = response.results
        self.assertEqual(len(results), len(types))
        self.assertValid(results[0], "pytorch.resnet18.cls1000")
        self.assertValid(results[1], "pytorch.densenet161")
        self.assertViolations(results[2], [
            ("extra[0]", INVALID_CHARACTER, ["U+0020", "index 3"])])
        self.assertViolations(results[3], [
            ("backend", INVALID_CHARACTER, ["U+002E", "index 5"]),
            ("architecture", EMPTY, []),
        ])
        self.assertValid(results[4], "a" * 255 + ".b")
        self.assertViolations(results[5], [("backend", TOO_LONG, [])])
        self.assertValid(results[6], "é" * 127 + "a.b")
        self.assertViolations(results[7], [("backend", TOO_LONG, [])])
        self.assertValid(results[8], "a.b" + ".x" * 32)
        # Too many extras: one violation on the list, elements not checked.
        self.assertViolations(results[9], [("extra", TOO_MANY_EXTRAS, [])])
        self.assertEqual(results[9].violations[0].value, "33")

    def test_validate_state_types_documented_examples(self):
        valid = ["résnet", "模型", "٣", "²", "½", "clip-image-rn50", "_", "-"]
        invalid = ["e\u0301", "res net", "res.net", "😀", "a\u200db", "a\x07",
                   "a\t", "a/b", "a\r"]
        response = self.stub.ValidateStateTypes(
            pb.ValidateStateTypesRequest(
                state_types=[state_type("pytorch", name)
                             for name in valid + invalid]),
            timeout=TIMEOUT)
        results = response.results
        self.assertEqual(len(results), len(valid) + len(invalid))
        for name, result in zip(valid, results):
            self.assertValid(result, "pytorch." + name)
        for name, result in zip(invalid, results[len(valid):]):
            bad = next(c for c in name if not MOZUMA_VALID_NAMES.match(c))
            self.assertViolations(result, [
                ("architecture", INVALID_CHARACTER,
                 ["U+%04X" % ord(bad), "index %d" % name.index(bad)])])

    def test_violation_value_is_cut_after_256_bytes(self):
        response = self.stub.ValidateStateTypes(
            pb.ValidateStateTypesRequest(state_types=[
                state_type("a" * 300, "b"),
                state_type("a" * 299 + " ", "b"),
            ]), timeout=TIMEOUT)
        first, second = response.results
        self.assertViolations(first, [("backend", TOO_LONG, ["300", "255"])])
        self.assertEqual(first.violations[0].value, "a" * 256 + "...")
        self.assertEqual(
            sorted(reason_name(v.reason) for v in second.violations),
            ["VIOLATION_REASON_INVALID_CHARACTER", "VIOLATION_REASON_TOO_LONG"])
        for violation in second.violations:
            self.assertEqual(violation.field, "backend")
            self.assertEqual(violation.value, "a" * 256 + "...")

    def test_default_batch_limit_is_1000(self):
        types = [state_type("pytorch", "resnet%d" % i) for i in range(1001)]
        response = self.stub.ValidateStateTypes(
            pb.ValidateStateTypesRequest(state_types=types[:1000]),
            timeout=TIMEOUT)
        self.assertEqual([r.name for r in response.results],
                         ["pytorch.resnet%d" % i for i in range(1000)])
        details = self.assertRpcError(
            self.stub.ValidateStateTypes,
            pb.ValidateStateTypesRequest(state_types=types),
            INVALID_ARGUMENT, "BATCH_TOO_LARGE")
        self.assertEqual(details.metadata, {"state_types": "BATCH_TOO_LARGE"})

    def test_invalid_utf8_backend_is_an_answer_not_an_error(self):
        # StateType{backend: "\xc0\xaf" (an overlong "/"), architecture: "a"}
        request = length_delimited(1, raw_state_type(b"\xc0\xaf", b"a"))
        self.assertEqual(request, b"\x0a\x07\x0a\x02\xc0\xaf\x12\x01a")
        raw = statesd.raw_method(self.channel, "ValidateStateTypes")
        response = pb.ValidateStateTypesResponse.FromString(
            raw(request, timeout=TIMEOUT))
        self.assertEqual(len(response.results), 1)
        self.assertViolations(response.results[0],
                              [("backend", INVALID_UTF8, [])])
        self.assertEqual(response.results[0].violations[0].value, "\\xC0\\xAF")

    def test_every_kind_of_invalid_utf8(self):
        bad_sequences = [
            b"\xc0\xaf",            # overlong
            b"\xe0\x80\xaf",        # overlong
            b"\xe6\xa8",            # truncated
            b"\xed\xa0\x80",        # encoded surrogate U+D800
            b"\x80",                # continuation byte first
            b"\xff",                # starts no sequence
            b"\xf4\x90\x80\x80",    # beyond U+10FFFF
        ]
        request = b"".join(
            length_delimited(1, length_delimited(
                1, raw_state_type(b"pytorch", b"resnet18", b"ok",
                                  b"a" + bad + b"b")) +
                length_delimited(2, b"imagenet"))
            for bad in bad_sequences)
        raw = statesd.raw_method(self.channel, "ValidateStateKeys")
        response = pb.ValidateStateKeysResponse.FromString(
            raw(request, timeout=TIMEOUT))
        self.assertEqual(len(response.results), len(bad_sequences))
        for bad, result in zip(bad_sequences, response.results):
            self.assertViolations(result, [
                ("state_type.extra[1]", INVALID_UTF8, [])])
            escaped = "".join("\\x%02X" % byte for byte in bad)
            self.assertEqual(result.violations[0].value,
                             "a" + escaped + "b", bad)

    def test_invalid_utf8_in_other_rpcs_is_reported_as_a_bad_name(self):
        compat = statesd.raw_method(self.channel, "CheckCompatibility")
        request = (length_delimited(1, raw_state_type(b"pytorch", b"resnet"))
                   + length_delimited(2, raw_state_type(b"pytorch", b"resnet"))
                   + length_delimited(2, raw_state_type(b"py\xfftorch",
                                                        b"resnet")))
        details = self.assertRpcError(compat, request, INVALID_ARGUMENT,
                                      "INVALID_STATE_TYPE")
        self.assertEqual(details.metadata,
                         {"candidates[1].backend": "INVALID_UTF8"})

        parse = statesd.raw_method(self.channel, "ParseStateKey")
        details = self.assertRpcError(
            parse, length_delimited(1, b"pytorch.res\xc3net.imagenet"),
            INVALID_ARGUMENT, "INVALID_STATE_NAME")
        self.assertEqual(list(details.metadata.values()), ["INVALID_UTF8"])

    # CheckCompatibility ------------------------------------------------------

    def test_check_compatibility(self):
        model = state_type("pytorch", "resnet18", "cls1000")
        candidates = [
            (state_type("pytorch", "resnet18", "cls1000"), EXACT, []),
            (state_type("pytorch", "resnet18", "cls10"), COMPATIBLE,
             ["extra"]),
            (state_type("pytorch", "resnet18"), COMPATIBLE, ["extra"]),
            (state_type("pytorch", "resnet18", "cls1000", "v2"), COMPATIBLE,
             ["extra"]),
            (state_type("pytorch", "resnet50", "cls1000"), INCOMPATIBLE,
             ["architecture"]),
            (state_type("keras", "resnet18", "cls1000"), INCOMPATIBLE,
             ["backend"]),
            (state_type("keras", "resnet50", "cls1"), INCOMPATIBLE,
             ["backend", "architecture", "extra"]),
            (state_type("pytorch", "ResNet18", "cls1000"), INCOMPATIBLE,
             ["architecture"]),
            # No prefix matching, either way.
            (state_type("pytorch", "resnet180", "cls1000"), INCOMPATIBLE,
             ["architecture"]),
            (state_type("pytorch", "resnet1", "cls1000"), INCOMPATIBLE,
             ["architecture"]),
            (state_type("pytorc", "resnet18", "cls1000"), INCOMPATIBLE,
             ["backend"]),
        ]
        response = self.stub.CheckCompatibility(
            pb.CheckCompatibilityRequest(
                state_type=model, candidates=[c for c, _, _ in candidates]),
            timeout=TIMEOUT)
        got = [(pb.Compatibility.Name(r.compatibility), list(r.differing_fields))
               for r in response.results]
        want = [(pb.Compatibility.Name(compatibility), fields)
                for _, compatibility, fields in candidates]
        self.assertEqual(got, want)

    def test_check_compatibility_resnet18_vs_resnet180(self):
        response = self.stub.CheckCompatibility(
            pb.CheckCompatibilityRequest(
                state_type=state_type("pytorch", "resnet18"),
                candidates=[state_type("pytorch", "resnet180")]),
            timeout=TIMEOUT)
        self.assertEqual(len(response.results), 1)
        self.assertEqual(response.results[0].compatibility, INCOMPATIBLE)
        self.assertEqual(list(response.results[0].differing_fields),
                         ["architecture"])

    def test_check_compatibility_empty_candidates(self):
        response = self.stub.CheckCompatibility(
            pb.CheckCompatibilityRequest(
                state_type=state_type("pytorch", "resnet18")),
            timeout=TIMEOUT)
        self.assertEqual(list(response.results), [])

    def test_check_compatibility_lists_every_bad_field(self):
        details = self.assertRpcError(
            self.stub.CheckCompatibility,
            pb.CheckCompatibilityRequest(
                state_type=state_type("py torch", "resnet18"),
                candidates=[
                    state_type("pytorch", "resnet18"),
                    state_type("pytorch", "resnet18", "cls\u0301"),
                    state_type("pytorch", "", "ok", "ok", "a.b"),
                ]),
            INVALID_ARGUMENT, "INVALID_STATE_TYPE")
        self.assertEqual(details.fields, [
            "state_type.backend",
            "candidates[1].extra[0]",
            "candidates[2].architecture",
            "candidates[2].extra[2]",
        ])
        self.assertEqual(details.metadata, {
            "state_type.backend": "INVALID_CHARACTER",
            "candidates[1].extra[0]": "INVALID_CHARACTER",
            "candidates[2].architecture": "EMPTY",
            "candidates[2].extra[2]": "INVALID_CHARACTER",
        })
        descriptions = dict(details.field_violations)
        self.assertIn("U+0020", descriptions["state_type.backend"])
        self.assertIn("index 2", descriptions["state_type.backend"])
        self.assertIn("U+0301", descriptions["candidates[1].extra[0]"])
        self.assertIn("index 3", descriptions["candidates[1].extra[0]"])

    def test_check_compatibility_missing_state_type(self):
        details = self.assertRpcError(
            self.stub.CheckCompatibility,
            pb.CheckCompatibilityRequest(
                candidates=[state_type("pytorch", "resnet18")]),
            INVALID_ARGUMENT, "INVALID_STATE_TYPE")
        self.assertEqual(details.metadata, {"state_type": "MISSING"})

    # ParseStateKey -----------------------------------------------------------

    REAL_NAMES = {
        "pytorch.resnet18.cls1000.imagenet":
            ("pytorch", "resnet18", ["cls1000"], "imagenet"),
        "pytorch.densenet161.cls365.places365":
            ("pytorch", "densenet161", ["cls365"], "places365"),
        "pytorch.clip-image-rn50.clip":
            ("pytorch", "clip-image-rn50", [], "clip"),
        "pytorch.sbert-distiluse-base-multilingual.cased-v2":
            ("pytorch", "sbert-distiluse-base-multilingual", [], "cased-v2"),
        "pytorch.arcface.a.b.c.insightface":
            ("pytorch", "arcface", ["a", "b", "c"], "insightface"),
        # A file suffix is not stripped: it is read as the training id.
        "pytorch.resnet18.cls1000.imagenet.pt":
            ("pytorch", "resnet18", ["cls1000", "imagenet"], "pt"),
        "pytorch.résnet.模型.٣":
            ("pytorch", "résnet", ["模型"], "٣"),
    }

    def test_parse_state_key_real_mozuma_names(self):
        for name, (backend, architecture, extra, training_id) in (
                self.REAL_NAMES.items()):
            with self.subTest(name=name):
                response = self.stub.ParseStateKey(
                    pb.ParseStateKeyRequest(name=name), timeout=TIMEOUT)
                key = response.state_key
                self.assertTrue(key.HasField("state_type"))
                self.assertEqual(key.state_type.backend, backend)
                self.assertEqual(key.state_type.architecture, architecture)
                self.assertEqual(list(key.state_type.extra), extra)
                self.assertEqual(key.training_id, training_id)

    def test_parse_state_key_round_trips_through_validate(self):
        names = list(self.REAL_NAMES)
        keys = [self.stub.ParseStateKey(pb.ParseStateKeyRequest(name=name),
                                        timeout=TIMEOUT).state_key
                for name in names]
        response = self.stub.ValidateStateKeys(
            pb.ValidateStateKeysRequest(state_keys=keys), timeout=TIMEOUT)
        self.assertEqual([(r.valid, r.name) for r in response.results],
                         [(True, name) for name in names])

    def test_parse_state_key_errors(self):
        cases = [
            # name, short reason, substrings of the description
            ("pytorch.resnet18", "TOO_FEW_PARTS", ["2"]),
            ("resnet18", "TOO_FEW_PARTS", ["1"]),
            ("", "EMPTY", []),
            ("pytorch.rés net.imagenet", "INVALID_CHARACTER",
             ["part 2", "architecture", "U+0020"]),
            ("pytorch..imagenet", "EMPTY", ["part 2", "architecture"]),
            ("py\u0301torch.resnet18.imagenet", "INVALID_CHARACTER",
             ["part 1", "backend", "U+0301", "index 2"]),
            ("pytorch.resnet18.cls1000.image net", "INVALID_CHARACTER",
             ["part 4", "training id", "U+0020"]),
            ("pytorch.resnet18.cls 1000.imagenet", "INVALID_CHARACTER",
             ["part 3", "extra[0]", "U+0020"]),
            ("pytorch.resnet18.cls1000.imagenet\n", "INVALID_CHARACTER",
             ["U+000A"]),
            ("pytorch.resnet18." + ".".join(["x"] * 33) + ".imagenet",
             "TOO_MANY_EXTRAS", []),
        ]
        for name, short_reason, substrings in cases:
            with self.subTest(name=name):
                details = self.assertRpcError(
                    self.stub.ParseStateKey, pb.ParseStateKeyRequest(name=name),
                    INVALID_ARGUMENT, "INVALID_STATE_NAME")
                self.assertEqual(list(details.metadata.values()),
                                 [short_reason], details)
                self.assertEqual(len(details.field_violations), 1, details)
                description = details.field_violations[0][1]
                for substring in substrings:
                    self.assertIn(substring, description)

    def test_parse_state_key_too_few_parts_metadata(self):
        details = self.assertRpcError(
            self.stub.ParseStateKey,
            pb.ParseStateKeyRequest(name="pytorch.resnet18"),
            INVALID_ARGUMENT, "INVALID_STATE_NAME")
        self.assertEqual(details.metadata, {"name": "TOO_FEW_PARTS"})
        self.assertEqual(details.fields, ["name"])

    # The ParseStateKey contract in state_service.proto says: "the
    # google.rpc.BadRequest names the part as a field of the key
    # (`state_key.state_type.architecture`) and the description says which
    # dotted part it is". statesd names the request field `name` instead (the
    # description does say which part). Server bug (or a wrong contract
    # comment): see the report.
    def test_parse_state_key_names_the_bad_part_in_the_description(self):
        # The request field is `name`; the description says which dotted
        # part of it is bad.
        cases = [
            ("pytorch.rés net.imagenet", "part 2, the architecture,"),
            ("py torch.resnet18.imagenet", "part 1, the backend,"),
            ("pytorch.resnet18.cls 1000.imagenet", "part 3, extra[0],"),
            ("pytorch.resnet18.image net", "part 3, the training id,"),
            ("pytorch.resnet18.cls1000.image net", "part 4, the training id,"),
        ]
        for name, part in cases:
            details = self.assertRpcError(
                self.stub.ParseStateKey, pb.ParseStateKeyRequest(name=name),
                INVALID_ARGUMENT, "INVALID_STATE_NAME")
            self.assertEqual(details.fields, ["name"], name)
            self.assertEqual(details.metadata, {"name": "INVALID_CHARACTER"},
                             name)
            self.assertTrue(
                details.bad_request.field_violations[0].description
                .startswith(part),
                (name, details.bad_request.field_violations[0].description))

    # Malformed and random requests ------------------------------------------

    GARBAGE = [
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # endless varint
        b"\x0a\x10abc",                  # length beyond the end
        b"\x0f",                         # wire type 7 does not exist
        b"\x0b\x0a\x01a",                # start group, never ended
        b"\x08",                         # varint tag without a value
        b"\x0a\x05\x0a\x09pytorch",      # nested length beyond its parent
    ]

    def test_garbage_bytes_are_a_malformed_request(self):
        parse = statesd.raw_method(self.channel, "ParseStateKey")
        for garbage in self.GARBAGE:
            with self.subTest(garbage=garbage):
                self.assertRpcError(parse, garbage, INVALID_ARGUMENT,
                                    "MALFORMED_REQUEST")
        for method in METHODS:
            with self.subTest(method=method):
                self.assertRpcError(statesd.raw_method(self.channel, method),
                                    self.GARBAGE[0], INVALID_ARGUMENT,
                                    "MALFORMED_REQUEST")
        # The server still answers.
        response = self.stub.ParseStateKey(
            pb.ParseStateKeyRequest(name="pytorch.resnet18.cls1000.imagenet"),
            timeout=TIMEOUT)
        self.assertEqual(response.state_key.training_id, "imagenet")
        self.assertTrue(self.server.running())

    def random_requests(self, rng, valid_request, count):
        """Random bytes, and valid requests with random damage."""
        for i in range(count):
            if i % 2 == 0:
                yield bytes(rng.randrange(256)
                            for _ in range(rng.randrange(0, 96)))
                continue
            data = bytearray(valid_request)
            for _ in range(rng.randrange(1, 6)):
                action = rng.randrange(3)
                position = rng.randrange(len(data) + 1)
                if action == 0 and data:
                    data[min(position, len(data) - 1)] = rng.randrange(256)
                elif action == 1:
                    data[position:position] = bytes(
                        rng.randrange(256) for _ in range(rng.randrange(1, 4)))
                elif data:
                    del data[position:position + rng.randrange(1, 4)]
            yield bytes(data)

    def test_random_bytes_never_crash_the_server(self):
        rng = random.Random(0x5EED)
        valid_requests = {
            "ValidateStateTypes": pb.ValidateStateTypesRequest(state_types=[
                state_type("pytorch", "resnet18", "cls1000"),
                state_type("pytorch", "ré", "模型")]),
            "ValidateStateKeys": pb.ValidateStateKeysRequest(state_keys=[
                state_key("pytorch", "resnet18", ["cls1000"], "imagenet")]),
            "CheckCompatibility": pb.CheckCompatibilityRequest(
                state_type=state_type("pytorch", "resnet18", "cls1000"),
                candidates=[state_type("pytorch", "resnet18")]),
            "ParseStateKey": pb.ParseStateKeyRequest(
                name="pytorch.resnet18.cls1000.imagenet"),
        }
        counts = {}
        for method, (_, response_type) in METHODS.items():
            raw = statesd.raw_method(self.channel, method)
            seen = counts.setdefault(method, {"OK": 0})
            for data in self.random_requests(
                    rng, valid_requests[method].SerializeToString(), 300):
                try:
                    answer = raw(data, timeout=TIMEOUT)
                except grpc.RpcError as error:
                    details = statesd.error_details(error)
                    self.assertEqual(details.code, INVALID_ARGUMENT,
                                     (method, data, details))
                    self.assertEqual(len(details.error_infos), 1,
                                     (method, data, details))
                    self.assertEqual(details.domain, statesd.ERROR_DOMAIN)
                    self.assertIn(details.reason, KNOWN_ERROR_REASONS,
                                  (method, data, details))
                    seen[details.reason] = seen.get(details.reason, 0) + 1
                else:
                    # An answer must be a well-formed response (valid UTF-8
                    # strings included).
                    response_type.FromString(answer)
                    seen["OK"] += 1
        sys.stderr.write("\n  random requests (300 per method): %r\n"
                         % counts)
        for method, seen in counts.items():
            self.assertEqual(sum(seen.values()), 300, method)
        self.assertTrue(self.server.running())
        response = self.stub.ValidateStateTypes(
            pb.ValidateStateTypesRequest(
                state_types=[state_type("pytorch", "resnet18")]),
            timeout=TIMEOUT)
        self.assertEqual(response.results[0].name, "pytorch.resnet18")


class SmallBatchServerTest(ServiceTestCase):
    SERVER_FLAGS = ("--max_batch_size=3",)

    def test_batch_too_large(self):
        types = [state_type("pytorch", "resnet%d" % i) for i in range(4)]
        response = self.stub.ValidateStateTypes(
            pb.ValidateStateTypesRequest(state_types=types[:3]),
            timeout=TIMEOUT)
        self.assertEqual(len(response.results), 3)
        details = self.assertRpcError(
            self.stub.ValidateStateTypes,
            pb.ValidateStateTypesRequest(state_types=types),
            INVALID_ARGUMENT, "BATCH_TOO_LARGE")
        self.assertEqual(details.fields, ["state_types"])
        self.assertEqual(details.metadata, {"state_types": "BATCH_TOO_LARGE"})
        self.assertIn("4", details.field_violations[0][1])

    def test_batch_too_large_in_every_batch_rpc(self):
        keys = [state_key("pytorch", "resnet18", [], "t%d" % i)
                for i in range(4)]
        details = self.assertRpcError(
            self.stub.ValidateStateKeys,
            pb.ValidateStateKeysRequest(state_keys=keys),
            INVALID_ARGUMENT, "BATCH_TOO_LARGE")
        self.assertEqual(details.metadata, {"state_keys": "BATCH_TOO_LARGE"})
        details = self.assertRpcError(
            self.stub.CheckCompatibility,
            pb.CheckCompatibilityRequest(
                state_type=state_type("pytorch", "resnet18"),
                candidates=[state_type("pytorch", "resnet18")] * 4),
            INVALID_ARGUMENT, "BATCH_TOO_LARGE")
        self.assertEqual(details.metadata, {"candidates": "BATCH_TOO_LARGE"})
        response = self.stub.CheckCompatibility(
            pb.CheckCompatibilityRequest(
                state_type=state_type("pytorch", "resnet18"),
                candidates=[state_type("pytorch", "resnet18")] * 3),
            timeout=TIMEOUT)
        self.assertEqual([r.compatibility for r in response.results],
                         [EXACT] * 3)


class AsciiServerTest(ServiceTestCase):
    SERVER_FLAGS = ("--name_charset=ascii",)

    def test_startup_line_names_the_charset(self):
        self.assertEqual(self.server.charset, "ascii")

    def test_ascii_server_rejects_non_ascii_names(self):
        names = ["résnet", "resnet18_a-B", "٣", "模型", "²"]
        response = self.stub.ValidateStateTypes(
            pb.ValidateStateTypesRequest(
                state_types=[state_type("pytorch", n) for n in names]),
            timeout=TIMEOUT)
        results = response.results
        self.assertViolations(results[0], [
            ("architecture", INVALID_CHARACTER, ["U+00E9", "index 1"])])
        self.assertValid(results[1], "pytorch.resnet18_a-B")
        for result in results[2:]:
            self.assertViolations(result, [
                ("architecture", INVALID_CHARACTER, ["index 0"])])

    def test_ascii_server_parse_rejects_non_ascii(self):
        details = self.assertRpcError(
            self.stub.ParseStateKey,
            pb.ParseStateKeyRequest(name="pytorch.résnet.imagenet"),
            INVALID_ARGUMENT, "INVALID_STATE_NAME")
        self.assertEqual(list(details.metadata.values()),
                         ["INVALID_CHARACTER"])


# --- c. health ----------------------------------------------------------------

class HealthTest(ServiceTestCase):

    def test_check_overall_and_state_service_serving(self):
        for service in ("", statesd.SERVICE_NAME):
            with self.subTest(service=service):
                response = statesd.health_check(self.channel, service,
                                                timeout=TIMEOUT)
                self.assertEqual(
                    statesd.serving_status_name(response.status), "SERVING")

    def test_check_unknown_service_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as raised:
            statesd.health_check(self.channel, "no.such.Service",
                                 timeout=TIMEOUT)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.NOT_FOUND)


# --- d. drain ---------------------------------------------------------------------

class WatchCollector:
    """Reads a Health/Watch stream in a thread, so reads can time out."""

    END = "END"

    def __init__(self, call):
        self.call = call
        self.events = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for message in self.call:
                self.events.put(statesd.serving_status_name(message.status))
        except grpc.RpcError as error:
            self.events.put("%s:%s" % (self.END, error.code().name))
            return
        self.events.put(self.END)

    def next(self, timeout):
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self.call.cancel()
        self.thread.join(5)


class DrainTest(unittest.TestCase):

    def start(self, *flags, test_hooks=False):
        server = statesd.Statesd(*flags, test_hooks=test_hooks)
        self.addCleanup(server.close)
        return server

    def start_slow_call(self, server, channel):
        """Starts ParseStateKey in the background: (future, done times)."""
        stub = statesd.state_service_pb2_grpc.StateServiceStub(channel)
        done_at = []
        future = stub.ParseStateKey.future(
            pb.ParseStateKeyRequest(name="pytorch.resnet18.cls1000.imagenet"),
            timeout=TIMEOUT)
        future.add_done_callback(lambda _: done_at.append(time.monotonic()))
        return future, done_at

    def wait_exit(self, server, timeout):
        """(exit code, seconds waited); fails instead of hanging."""
        started = time.monotonic()
        try:
            code = server.wait(timeout)
        except Exception:  # subprocess.TimeoutExpired
            self.fail("statesd did not exit within %.1fs after the signal; "
                      "stdout=%r" % (timeout, server.stdout))
        return code, time.monotonic() - started

    def test_sigterm_drains_in_flight_call_then_exits(self):
        server = self.start("--TEST_response_delay=1s", "--drain_grace=5s",
                            test_hooks=True)
        channel = server.channel()
        # Connects the channel, and Check is not delayed.
        self.assertEqual(statesd.serving_status_name(
            statesd.health_check(channel, "", timeout=TIMEOUT).status),
            "SERVING")
        watch = WatchCollector(statesd.health_watch(channel, "", timeout=30))
        self.addCleanup(watch.close)
        self.assertEqual(watch.next(timeout=5), "SERVING")

        future, done_at = self.start_slow_call(server, channel)
        time.sleep(0.3)
        self.assertFalse(future.done(), "the delayed call finished too soon")
        sigterm_at = time.monotonic()
        server.terminate()

        # Health turns NOT_SERVING (or the stream ends) at once.
        event = watch.next(timeout=3)
        self.assertIsNotNone(event, "no health change within 3s of SIGTERM")
        self.assertTrue(event == "NOT_SERVING" or event.startswith("END"),
                        event)
        watch.close()  # An open Watch stream would hold the drain.

        # No new call is taken while draining.
        time.sleep(0.2)
        if not future.done():
            late = server.stub()  # a new channel, so a new connection
            with self.assertRaises(grpc.RpcError) as raised:
                late.ParseStateKey(pb.ParseStateKeyRequest(name="a.b.c"),
                                   timeout=3)
            self.assertEqual(raised.exception.code(),
                             grpc.StatusCode.UNAVAILABLE)

        # The call in flight finishes, with the right answer.
        response = future.result(timeout=TIMEOUT)
        key = response.state_key
        self.assertEqual((key.state_type.backend, key.state_type.architecture,
                          list(key.state_type.extra), key.training_id),
                         ("pytorch", "resnet18", ["cls1000"], "imagenet"))
        self.assertGreater(done_at[0], sigterm_at)

        code, _ = self.wait_exit(server, 10)
        self.assertEqual(code, 0)
        stdout, _ = server.output()
        self.assertIn("statesd: SIGTERM received", stdout)
        self.assertIn("draining for up to 5s", stdout)
        self.assertIn("statesd: stopped", stdout)
        self.assertLess(stdout.index("SIGTERM received"),
                        stdout.index("stopped"))

    def test_drain_grace_cancels_slow_call(self):
        server = self.start("--TEST_response_delay=5s", "--drain_grace=500ms",
                            test_hooks=True)
        channel = server.channel()
        statesd.health_check(channel, "", timeout=TIMEOUT)
        future, _ = self.start_slow_call(server, channel)
        time.sleep(0.3)
        self.assertFalse(future.done())
        sigterm_at = time.monotonic()
        server.terminate()
        try:
            future.result(timeout=3)
        except grpc.FutureTimeoutError:
            self.fail("the in-flight call still hangs 3s after SIGTERM with "
                      "--drain_grace=500ms")
        except grpc.RpcError as error:
            self.assertNotEqual(error.code(), grpc.StatusCode.OK)
            self.assertNotEqual(error.code(),
                                grpc.StatusCode.DEADLINE_EXCEEDED)
        else:
            self.fail("the 5s call succeeded despite --drain_grace=500ms")
        self.assertLess(time.monotonic() - sigterm_at, 3.0)
        code, _ = self.wait_exit(server, 10)
        elapsed = time.monotonic() - sigterm_at
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 3.0,
                        "statesd exited %.1fs after SIGTERM with "
                        "--drain_grace=500ms and a 5s call in flight"
                        % elapsed)
        stdout, _ = server.output()
        self.assertIn("SIGTERM received; draining for up to 500ms", stdout)
        self.assertIn("statesd: stopped", stdout)

    def test_sigint_also_drains(self):
        # An idle client connection stays open: the drain still ends within
        # the grace period.
        server = self.start("--drain_grace=1s")
        channel = server.channel()
        statesd.health_check(channel, "", timeout=TIMEOUT)
        server.send_signal(signal.SIGINT)
        code, elapsed = self.wait_exit(server, 10)
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 4.0)
        stdout, _ = server.output()
        self.assertIn("statesd: SIGINT received; draining for up to 1s",
                      stdout)
        self.assertIn("statesd: stopped", stdout)

if __name__ == "__main__":
    unittest.main()
