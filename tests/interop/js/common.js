// Shared by the interop scripts: the SDK, a watchdog, a gzip probe, checks and registration.
//
// The official SDK is resolved through NODE_PATH (the cache folder tests/interop/install_sdk.sh
// fills); HATCHET_CLIENT_TOKEN and HATCHET_CLIENT_TLS_STRATEGY=none come from the calling script.

'use strict';

const zlib = require('zlib');

// --- gzip probe ---------------------------------------------------------------------------------
// grpc-js compresses a request message by calling zlib.gzip when the channel's send compression
// is gzip (the SDK sets grpc.default_compression_algorithm = gzip), and marks the message
// compressed on the wire. Counting those calls shows that the engine really received, and
// answered, gzip-compressed requests; grpc-js would fall back to identity for good if a response
// advertised that the server cannot take gzip. Installed before the SDK is loaded.
const probe = { gzipCalls: 0, gzipBytesIn: 0 };
const realGzip = zlib.gzip;
zlib.gzip = function gzipProbe(buf, ...rest) {
  probe.gzipCalls += 1;
  probe.gzipBytesIn += buf.length;
  return realGzip.call(this, buf, ...rest);
};

// grpc-js 1.14 reads the server's grpc-accept-encoding header with split(',') and no trimming;
// grpc++ 1.51 sends "identity, deflate, gzip", so " gzip" does not match and grpc-js stops
// compressing on a channel after its first response header: only the first requests of each
// channel go out gzip-compressed. A real Hatchet engine (grpc-go) sends "gzip" and gets every
// request compressed. INTEROP_GZIP_ALL=1 trims the list before grpc-js reads it, so the SDK
// compresses every request as it does against a real engine; the SDK itself is unchanged.
if (process.env.INTEROP_GZIP_ALL === '1') {
  const { CompressionFilter } = require('@grpc/grpc-js/build/src/compression-filter');
  const receiveMetadata = CompressionFilter.prototype.receiveMetadata;
  CompressionFilter.prototype.receiveMetadata = function trimmedAcceptEncoding(metadata) {
    const accepted = metadata.get('grpc-accept-encoding')[0];
    if (typeof accepted === 'string')
      metadata.set('grpc-accept-encoding', accepted.split(',').map((e) => e.trim()).join(','));
    return receiveMetadata.call(this, metadata);
  };
}

const sdk = require('@hatchet-dev/typescript-sdk');
const sdkVersion = require('@hatchet-dev/typescript-sdk/package.json').version;

function log(...args) {
  console.log(`[${new Date().toISOString()}]`, ...args);
}

/// Ends the process with code 1 after `seconds`: the SDK retries forever, so a script that waits
/// on something that never comes must not hang ctest. The timer keeps the event loop alive on purpose: a checking script must end through finish()
/// or here; leaving in any other way (an exit code 0 without the final checks) is a failure.
function watchdog(seconds, what) {
  process.on('exit', (code) => {
    if (!finished && code === 0) {
      console.log('FAIL: the script ended without reaching its final checks');
      process.exitCode = 1;
    }
  });
  setTimeout(() => {
    log(`FAIL: ${what} did not finish within ${seconds} s`);
    process.exit(1);
  }, seconds * 1000);
}

const failures = [];
let finished = false;
function check(ok, message) {
  if (ok) {
    log(`ok: ${message}`);
  } else {
    log(`FAIL: ${message}`);
    failures.push(message);
  }
  return ok;
}

/// Exits with 0 if every check passed, else 1. The SDK keeps streams and timers alive, so the
/// scripts always leave through here.
function finish() {
  finished = true;
  if (failures.length > 0) {
    log(`${failures.length} check(s) failed`);
    process.exit(1);
  }
  log('all checks passed');
  process.exit(0);
}

/// Registers a declared workflow exactly as the SDK's worker does before it starts
/// (v1.AdminService/PutWorkflow with the request the SDK builds), but without a worker: the runs
/// are meant for a worker that is not written in TypeScript.
async function registerWithoutWorker(hatchet, declaration) {
  // The SDK's own conversion (the one worker.registerWorkflow uses); not re-exported at the top.
  const wp = require('@hatchet-dev/typescript-sdk/v1/client/worker/workflow-proto');
  const { namespace } = hatchet.config;
  const normalized = wp.normalizeWorkflowDefinition(declaration, { namespace, durable: false });
  const request = wp.workflowToProto(normalized, { namespace, durable: false });
  const response = await hatchet.admin.putWorkflow(request);
  log(`registered ${request.name} (${request.tasks.map((t) => t.action).join(', ')}) ` +
      `as version ${response.id}`);
  return request;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function deepEqual(a, b) {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

/// Text of whatever a rejected run reference gave: the SDK rejects with an array of the error
/// strings of the failed tasks (from the FINISHED event's results[].error).
function errorText(e) {
  if (Array.isArray(e)) return e.map(errorText).join(' | ');
  if (e instanceof Error) return e.message;
  return String(e);
}

module.exports = {
  sdk, sdkVersion, probe, log, watchdog, check, finish, registerWithoutWorker, sleep, deepEqual,
  errorText,
};
