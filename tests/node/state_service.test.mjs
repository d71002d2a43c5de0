// A Node.js client of mozuma.states.v1.StateService that has nothing but the
// .proto files: @grpc/proto-loader reads proto/ (and google/rpc from the
// googleapis folder) at run time, no code is generated. It starts a real
// statesd and calls every rpc.
//
// Run: node --test tests/node/state_service.test.mjs
//
// Environment (ctest sets them; the defaults suit a checkout built in build/):
//   STATESD             the server binary (default build/service/statesd)
//   STATES_NODE_TOOLS   folder whose node_modules holds @grpc/grpc-js,
//                       @grpc/proto-loader and protobufjs (default tools/)
//   STATES_GOOGLEAPIS   folder holding google/rpc/*.proto (default Debian's
//                       /usr/share/gocode/src/github.com/gogo/googleapis)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STATESD = process.env.STATESD || path.join(REPO_ROOT, 'build', 'service', 'statesd');
const TOOLS_DIR = process.env.STATES_NODE_TOOLS || path.join(REPO_ROOT, 'tools');
const PROTO_DIR = path.join(REPO_ROOT, 'proto');
const GOOGLEAPIS_DIR =
  process.env.STATES_GOOGLEAPIS || '/usr/share/gocode/src/github.com/gogo/googleapis';

// ES modules ignore NODE_PATH: resolve the npm packages from tools/ (whose
// lookup still falls back to NODE_PATH).
const require = createRequire(path.join(TOOLS_DIR, 'package.json'));
let grpc, protoLoader, protobuf;
try {
  grpc = require('@grpc/grpc-js');
  protoLoader = require('@grpc/proto-loader');
  protobuf = require('protobufjs');
} catch (err) {
  throw new Error(
    `cannot load the npm packages from ${TOOLS_DIR}/node_modules ` +
      `(run scripts/install-deps.sh, or npm ci in tools/): ${err.message}`,
  );
}

const ERROR_DOMAIN = 'mozuma.states.v1';
const RPC_TIMEOUT_MS = 5000; // the deadline of every call
const STARTUP_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 5000;
const WATCH_WAIT_MS = 5000; // the longest wait for one watch message

// ---------------------------------------------------------------------------
// The .proto files, loaded at run time.

const INCLUDE_DIRS = [PROTO_DIR, GOOGLEAPIS_DIR];
const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: INCLUDE_DIRS,
};

const packageDefinition = protoLoader.loadSync(
  ['mozuma/states/v1/state_service.proto', 'google/rpc/status.proto',
    'google/rpc/error_details.proto'],
  LOADER_OPTIONS,
);
const loaded = grpc.loadPackageDefinition(packageDefinition);
const StateService = loaded.mozuma.states.v1.StateService;

// proto-loader makes (de)serializers for rpc messages only; the error details
// travel as bytes in a trailer, so they are decoded with protobufjs (the
// library proto-loader is built on) from the same files, with the same
// conversion options.
const detailsRoot = new protobuf.Root();
detailsRoot.resolvePath = (origin, target) => {
  for (const dir of INCLUDE_DIRS) {
    const candidate = path.join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  return target; // google/protobuf/*.proto: protobufjs has them built in
};
detailsRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'],
  { keepCase: true });
const TO_OBJECT = { longs: String, enums: String, defaults: true, oneofs: true };
const StatusType = detailsRoot.lookupType('google.rpc.Status');

/**
 * Decodes the google.rpc.Status of a failed call from its
 * grpc-status-details-bin trailer: { status, errorInfos, badRequests }.
 */
function errorDetails(err) {
  assert.ok(err && err.metadata, `not a gRPC error: ${err}`);
  const values = err.metadata.get('grpc-status-details-bin');
  assert.equal(values.length, 1, 'one grpc-status-details-bin trailer');
  const status = StatusType.toObject(StatusType.decode(values[0]), TO_OBJECT);
  const errorInfos = [];
  const badRequests = [];
  for (const any of status.details) {
    const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    const type = detailsRoot.lookupType(typeName);
    const message = type.toObject(type.decode(any.value), TO_OBJECT);
    if (typeName === 'google.rpc.ErrorInfo') errorInfos.push(message);
    if (typeName === 'google.rpc.BadRequest') badRequests.push(message);
  }
  return { status, errorInfos, badRequests };
}

/**
 * Asserts that `promise` fails with `code` and exactly one ErrorInfo of this
 * service's domain with `reason`; returns the decoded details.
 */
async function expectError(promise, code, reason) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${reason}, the call succeeded`);
  assert.equal(err.code, code, `status code of ${err.message}`);
  const details = errorDetails(err);
  assert.equal(details.status.code, code, 'google.rpc.Status.code');
  assert.equal(details.errorInfos.length, 1, 'exactly one ErrorInfo');
  const [info] = details.errorInfos;
  assert.equal(info.domain, ERROR_DOMAIN);
  assert.equal(info.reason, reason);
  return { ...details, info };
}

// ---------------------------------------------------------------------------
// The server process and the client.

let server; // { child, address, exited: Promise<{code, signal}> }
let client;

function startStatesd() {
  return new Promise((resolve, reject) => {
    const child = spawn(STATESD, ['--listen=127.0.0.1:0', '--db=memory:', '--drain_grace=2s'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`statesd did not start in ${STARTUP_TIMEOUT_MS} ms: ${stderr}`));
    }, STARTUP_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${STATESD}: ${err.message}`));
    });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`statesd exited (${code ?? signal}) before serving: ${stderr}`));
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      const line = stdout.slice(0, newline);
      const match = /^statesd: serving mozuma\.states\.v1\.StateService on (127\.0\.0\.1:\d+) \(/
        .exec(line);
      if (!match) {
        child.kill('SIGKILL');
        reject(new Error(`unexpected first line from statesd: ${JSON.stringify(line)}`));
        return;
      }
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({ child, address: match[1], exited });
    });
  });
}

const TIMED_OUT = Symbol('timed out');

/** Resolves with what `promise` resolves with, or TIMED_OUT after `ms`. */
async function within(promise, ms) {
  let timer;
  const timeout = new Promise((res) => { timer = setTimeout(res, ms, TIMED_OUT); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops the server: SIGTERM, then SIGKILL if it has not exited in time. */
async function stopStatesd(srv) {
  if (!srv || srv.child.exitCode !== null || srv.child.signalCode !== null) return;
  srv.child.kill('SIGTERM');
  if ((await within(srv.exited, STOP_TIMEOUT_MS)) === TIMED_OUT) {
    srv.child.kill('SIGKILL');
    await srv.exited;
  }
}

// The last resort: no server outlives the test process, even on a crash.
process.on('exit', () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
  }
});

const deadline = () => ({ deadline: Date.now() + RPC_TIMEOUT_MS });

/** Calls a unary rpc with a deadline and returns a promise of the response. */
function call(method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, deadline(), (err, response) => (err ? reject(err) : resolve(response)));
  });
}

/**
 * Reads a server stream with bounded waits: next() resolves with the next
 * message, or rejects with the stream's error or after WATCH_WAIT_MS.
 */
class StreamReader {
  constructor(stream) {
    this.stream = stream;
    this.messages = [];
    this.waiters = [];
    this.error = null;
    this.ended = false;
    stream.on('data', (msg) => { this.messages.push(msg); this.wake(); });
    stream.on('error', (err) => { this.error = err; this.wake(); });
    stream.on('end', () => { this.ended = true; this.wake(); });
  }

  wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  async next(timeoutMs = WATCH_WAIT_MS) {
    const stopAt = Date.now() + timeoutMs;
    for (;;) {
      if (this.messages.length) return this.messages.shift();
      if (this.error) throw this.error;
      if (this.ended) throw new Error('the stream ended');
      const left = stopAt - Date.now();
      if (left <= 0) throw new Error(`no stream message in ${timeoutMs} ms`);
      await new Promise((res) => {
        const timer = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(timer); res(); });
      });
    }
  }

  /** Resolves with the error that ends the stream (skipping messages). */
  async failure(timeoutMs = WATCH_WAIT_MS) {
    const stopAt = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.next(Math.max(1, stopAt - Date.now()));
      } catch (err) {
        if (err.code !== undefined) return err;
        throw err;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// MoZuMa's names.

/** The StateKey of a dotted name such as `pytorch.resnet18.cls1000.imagenet`. */
function key(name) {
  const parts = name.split('.');
  return {
    state_type: { backend: parts[0], architecture: parts[1], extra: parts.slice(2, -1) },
    training_id: parts[parts.length - 1],
  };
}

function state(name, extra = {}) {
  return { state_key: key(name), uri: `file:///srv/states/${name}.pt`, ...extra };
}

const SHA = 'a'.repeat(64);

before(async () => {
  assert.ok(existsSync(STATESD), `no statesd at ${STATESD} (build the statesd target)`);
  server = await startStatesd();
  client = new StateService(server.address, grpc.credentials.createInsecure());
  await new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + RPC_TIMEOUT_MS, (err) => (err ? reject(err) : resolve()));
  });
});

after(async () => {
  if (client) client.close();
  await stopStatesd(server);
});

// ---------------------------------------------------------------------------
// The validation rpcs: pure functions of their request.

test('ValidateStateTypes: a valid and an invalid state type', async () => {
  const response = await call('ValidateStateTypes', {
    state_types: [
      { backend: 'pytorch', architecture: 'clip-image-rn50' },
      { backend: 'pytorch', architecture: 'res net', extra: ['cls1000'] },
    ],
  });
  assert.equal(response.results.length, 2);
  assert.deepEqual(response.results[0], { valid: true, violations: [], name: 'pytorch.clip-image-rn50' });
  const invalid = response.results[1];
  assert.equal(invalid.valid, false);
  assert.equal(invalid.name, '');
  assert.equal(invalid.violations.length, 1);
  assert.equal(invalid.violations[0].field, 'architecture');
  assert.equal(invalid.violations[0].value, 'res net');
  assert.equal(invalid.violations[0].reason, 'VIOLATION_REASON_INVALID_CHARACTER');
  assert.match(invalid.violations[0].description, /U\+0020/);
});

test('ValidateStateKeys: a valid and an invalid state key', async () => {
  const response = await call('ValidateStateKeys', {
    state_keys: [
      key('pytorch.sbert-distiluse-base-multilingual.cased-v2'),
      { state_type: { backend: 'pytorch', architecture: 'resnet18', extra: ['cls1000'] }, training_id: '' },
    ],
  });
  assert.equal(response.results.length, 2);
  assert.equal(response.results[0].valid, true);
  assert.equal(response.results[0].name, 'pytorch.sbert-distiluse-base-multilingual.cased-v2');
  assert.equal(response.results[1].valid, false);
  assert.deepEqual(response.results[1].violations.map((v) => [v.field, v.reason]),
    [['training_id', 'VIOLATION_REASON_EMPTY']]);
});

test('CheckCompatibility: exact, compatible and incompatible candidates', async () => {
  const response = await call('CheckCompatibility', {
    state_type: { backend: 'pytorch', architecture: 'resnet18', extra: ['cls1000'] },
    candidates: [
      { backend: 'pytorch', architecture: 'resnet18', extra: ['cls1000'] },
      { backend: 'pytorch', architecture: 'resnet18' },
      { backend: 'pytorch', architecture: 'densenet161', extra: ['cls365'] },
    ],
  });
  assert.deepEqual(response.results, [
    { compatibility: 'COMPATIBILITY_EXACT', differing_fields: [] },
    { compatibility: 'COMPATIBILITY_COMPATIBLE', differing_fields: ['extra'] },
    { compatibility: 'COMPATIBILITY_INCOMPATIBLE', differing_fields: ['architecture', 'extra'] },
  ]);
});

test('CheckCompatibility: an invalid candidate is INVALID_ARGUMENT with a BadRequest', async () => {
  const { info, badRequests } = await expectError(call('CheckCompatibility', {
    state_type: { backend: 'pytorch', architecture: 'clip-image-rn50' },
    candidates: [
      { backend: 'pytorch', architecture: 'clip-text-rn50' },
      { backend: 'pytorch', architecture: 'clip image', extra: ['a.b'] },
    ],
  }), grpc.status.INVALID_ARGUMENT, 'INVALID_STATE_TYPE');
  assert.deepEqual(info.metadata, {
    'candidates[1].architecture': 'INVALID_CHARACTER',
    'candidates[1].extra[0]': 'INVALID_CHARACTER',
  });
  assert.equal(badRequests.length, 1, 'exactly one BadRequest');
  const violations = badRequests[0].field_violations;
  assert.deepEqual(violations.map((v) => v.field),
    ['candidates[1].architecture', 'candidates[1].extra[0]']);
  for (const v of violations) assert.ok(v.description.length > 0);
});

test('ParseStateKey: a dotted name and an invalid one', async () => {
  const response = await call('ParseStateKey', { name: 'pytorch.resnet18.cls1000.imagenet' });
  assert.deepEqual(response.state_key, key('pytorch.resnet18.cls1000.imagenet'));

  const { badRequests } = await expectError(call('ParseStateKey', { name: 'pytorch.resnet18' }),
    grpc.status.INVALID_ARGUMENT, 'INVALID_STATE_NAME');
  assert.equal(badRequests.length, 1);
  assert.equal(badRequests[0].field_violations[0].field, 'name');
});

// ---------------------------------------------------------------------------
// The registry.

test('RegisterState: created, idempotent retry, ALREADY_EXISTS', async () => {
  const clip = state('pytorch.clip-image-rn50.clip',
    { sha256: SHA, size_bytes: '102007141', labels: { framework_version: '2.1' } });
  const first = await call('RegisterState', { state: clip });
  assert.equal(first.created, true);
  assert.equal(first.changed, true);
  assert.equal(first.state.name, 'pytorch.clip-image-rn50.clip');
  assert.equal(first.state.size_bytes, '102007141'); // int64 as a string
  assert.match(first.state.revision, /^[1-9][0-9]*$/);
  assert.deepEqual(first.state.labels, { framework_version: '2.1' });
  assert.ok(BigInt(first.state.create_time.seconds) > 0n);

  const retry = await call('RegisterState', { state: clip });
  assert.equal(retry.created, false);
  assert.equal(retry.changed, false);
  assert.equal(retry.state.revision, first.state.revision);

  const { info } = await expectError(
    call('RegisterState', { state: { ...clip, uri: 's3://bucket/pytorch/clip-image-rn50.clip.pt' } }),
    grpc.status.ALREADY_EXISTS, 'STATE_ALREADY_EXISTS');
  assert.equal(info.metadata.name, 'pytorch.clip-image-rn50.clip');
  assert.equal(info.metadata.revision, first.state.revision);
});

test('RegisterState: bad fields are INVALID_ARGUMENT with a BadRequest naming each', async () => {
  const { info, badRequests } = await expectError(call('RegisterState', {
    state: {
      state_key: { state_type: { backend: 'pytorch', architecture: 'resnet18' }, training_id: 'image net' },
      uri: 'no-scheme',
      sha256: 'XYZ',
    },
  }), grpc.status.INVALID_ARGUMENT, 'INVALID_STATE');
  assert.equal(badRequests.length, 1);
  const fields = badRequests[0].field_violations.map((v) => v.field).sort();
  assert.deepEqual(fields, ['state.sha256', 'state.state_key.training_id', 'state.uri']);
  assert.equal(info.metadata['state.state_key.training_id'], 'INVALID_CHARACTER');
  assert.equal(info.metadata['state.uri'], 'INVALID_FORMAT');
  assert.equal(info.metadata['state.sha256'], 'INVALID_FORMAT');
});

test('GetState: found, and NOT_FOUND with its reason', async () => {
  const response = await call('GetState', { state_key: key('pytorch.clip-image-rn50.clip') });
  assert.equal(response.state.name, 'pytorch.clip-image-rn50.clip');
  assert.equal(response.state.sha256, SHA);

  const { info } = await expectError(
    call('GetState', { state_key: key('pytorch.clip-text-rn50.clip') }),
    grpc.status.NOT_FOUND, 'STATE_NOT_FOUND');
  assert.equal(info.metadata.name, 'pytorch.clip-text-rn50.clip');
});

test('BatchGetStates: found and not found, in request order', async () => {
  const response = await call('BatchGetStates', {
    state_keys: [key('pytorch.clip-text-rn50.clip'), key('pytorch.clip-image-rn50.clip')],
  });
  assert.equal(response.results.length, 2);
  assert.equal(response.results[0].found, false);
  assert.equal(response.results[0].state, null);
  assert.deepEqual(response.results[0].state_key, key('pytorch.clip-text-rn50.clip'));
  assert.equal(response.results[1].found, true);
  assert.equal(response.results[1].state.name, 'pytorch.clip-image-rn50.clip');
  assert.match(response.revision, /^[1-9][0-9]*$/);
});

test('ListStates: pages of 2 over 5 states, and resnet18 does not list resnet180', async () => {
  const resnet18 = [
    'pytorch.resnet18.imagenet',
    'pytorch.resnet18.places365',
    'pytorch.resnet18.cls1000.imagenet',
    'pytorch.resnet18.cls1000.imagenet21k',
    'pytorch.resnet18.cls1000.x.imagenet',
  ];
  const others = ['pytorch.resnet180.imagenet', 'pytorch.resnet18-v2.imagenet'];
  for (const name of [...others, ...resnet18].reverse()) {
    const response = await call('RegisterState', { state: state(name) });
    assert.equal(response.created, true, name);
  }

  const filter = { state_type: { backend: 'pytorch', architecture: 'resnet18' } };
  const pages = [];
  let pageToken = '';
  for (let i = 0; i < 10; i += 1) { // bounded: 3 pages expected
    const page = await call('ListStates', { ...filter, page_size: 2, page_token: pageToken });
    pages.push(page.states.map((s) => s.name));
    pageToken = page.next_page_token;
    if (!pageToken) break;
  }
  assert.equal(pageToken, '', 'the listing ended');
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  // Listing order: extra element by element (a list before its extensions),
  // then training id.
  assert.deepEqual(pages.flat(), [
    'pytorch.resnet18.imagenet',
    'pytorch.resnet18.places365',
    'pytorch.resnet18.cls1000.imagenet',
    'pytorch.resnet18.cls1000.imagenet21k',
    'pytorch.resnet18.cls1000.x.imagenet',
  ]);

  // An exact match on the state type, and a training id filter.
  const exact = await call('ListStates', {
    state_type: { backend: 'pytorch', architecture: 'resnet18', extra: ['cls1000'] },
    match: 'STATE_TYPE_MATCH_EXACT',
  });
  assert.deepEqual(exact.states.map((s) => s.name),
    ['pytorch.resnet18.cls1000.imagenet', 'pytorch.resnet18.cls1000.imagenet21k']);
  const imagenet = await call('ListStates', { training_id: 'imagenet' });
  assert.deepEqual(imagenet.states.map((s) => s.name).sort(), [
    'pytorch.resnet18-v2.imagenet', 'pytorch.resnet18.cls1000.imagenet',
    'pytorch.resnet18.cls1000.x.imagenet', 'pytorch.resnet18.imagenet',
    'pytorch.resnet180.imagenet',
  ]);

  // A page token is bound to its filter.
  const first = await call('ListStates', { ...filter, page_size: 2 });
  await expectError(call('ListStates', {
    state_type: { backend: 'pytorch', architecture: 'resnet180' }, page_token: first.next_page_token,
  }), grpc.status.INVALID_ARGUMENT, 'INVALID_PAGE_TOKEN');
});

test('DeleteState: REVISION_MISMATCH, then deleted, then NOT_FOUND', async () => {
  const { state: stored } = await call('GetState', { state_key: key('pytorch.resnet18-v2.imagenet') });
  const wrong = String(BigInt(stored.revision) + 1000n);
  const { info } = await expectError(call('DeleteState', {
    state_key: key('pytorch.resnet18-v2.imagenet'), expected_revision: wrong,
  }), grpc.status.FAILED_PRECONDITION, 'REVISION_MISMATCH');
  assert.equal(info.metadata.expected_revision, wrong);
  assert.equal(info.metadata.revision, stored.revision);

  const deleted = await call('DeleteState', {
    state_key: key('pytorch.resnet18-v2.imagenet'), expected_revision: stored.revision,
  });
  assert.equal(deleted.state.name, 'pytorch.resnet18-v2.imagenet');
  assert.ok(BigInt(deleted.revision) > BigInt(stored.revision));

  await expectError(call('DeleteState', { state_key: key('pytorch.resnet18-v2.imagenet') }),
    grpc.status.NOT_FOUND, 'STATE_NOT_FOUND');
});

test('WatchStates: snapshot, snapshot_complete, a live ADDED event, cancel', async () => {
  const filter = { state_type: { backend: 'pytorch', architecture: 'densenet161' } };
  await call('RegisterState', { state: state('pytorch.densenet161.cls365.places365') });

  const stream = client.WatchStates({ ...filter, start_revision: '0' }, watchDeadline());
  const reader = new StreamReader(stream);
  try {
    const snapshotEvents = [];
    let message;
    for (let i = 0; i < 10; i += 1) { // bounded: one event, then the marker
      message = await reader.next();
      snapshotEvents.push(...message.events);
      if (message.snapshot_complete) break;
    }
    assert.equal(message.snapshot_complete, true);
    assert.equal(message.events.length, 0);
    assert.deepEqual(snapshotEvents.map((e) => [e.type, e.state.name]),
      [['TYPE_ADDED', 'pytorch.densenet161.cls365.places365']]);
    const caughtUp = BigInt(message.revision);

    // A state of another architecture is not sent; the next densenet161 is.
    await call('RegisterState', { state: state('pytorch.resnet50.imagenet') });
    const added = await call('RegisterState', { state: state('pytorch.densenet161.cls1000.imagenet') });
    const live = await reader.next();
    assert.equal(live.snapshot_complete, false);
    assert.deepEqual(live.events.map((e) => [e.type, e.state.name]),
      [['TYPE_ADDED', 'pytorch.densenet161.cls1000.imagenet']]);
    assert.equal(live.events[0].revision, added.state.revision);
    assert.ok(BigInt(live.revision) > caughtUp);

    stream.cancel();
    const err = await reader.failure();
    assert.equal(err.code, grpc.status.CANCELLED);
  } finally {
    stream.cancel();
  }
});

test('WatchStates: a negative start_revision is INVALID_ARGUMENT', async () => {
  const reader = new StreamReader(client.WatchStates({ start_revision: '-1' }, deadline()));
  const err = await reader.failure();
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  const details = errorDetails(err);
  assert.equal(details.errorInfos.length, 1);
  assert.equal(details.errorInfos[0].reason, 'INVALID_FILTER');
  assert.equal(details.badRequests.length, 1);
  assert.equal(details.badRequests[0].field_violations[0].field, 'start_revision');
});

// Last: stops the server. An open watch ends with UNAVAILABLE,
// SERVER_DRAINING, and the process exits 0.
test('SIGTERM drains: an open watch ends with SERVER_DRAINING', async () => {
  const stream = client.WatchStates({ start_revision: '0' }, watchDeadline());
  const reader = new StreamReader(stream);
  try {
    for (let i = 0; i < 20; i += 1) { // bounded: the snapshot fits few messages
      if ((await reader.next()).snapshot_complete) break;
    }
    server.child.kill('SIGTERM');
    const err = await reader.failure();
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    const details = errorDetails(err);
    assert.equal(details.errorInfos.length, 1);
    assert.equal(details.errorInfos[0].reason, 'SERVER_DRAINING');
    const exit = await within(server.exited, STOP_TIMEOUT_MS);
    assert.notEqual(exit, TIMED_OUT, 'statesd exits after draining');
    assert.deepEqual(exit, { code: 0, signal: null });
  } finally {
    stream.cancel();
  }
});

function watchDeadline() {
  return { deadline: Date.now() + 15000 };
}
