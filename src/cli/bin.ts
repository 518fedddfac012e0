#!/usr/bin/env node
import { runCli } from './main.js';
import { flushTraces } from '../tracing/index.js';

// The process entry of `jobtrail`: the only place that calls process.exit,
// here at the end and through `exit` when a second signal forces `run` to stop.
const code = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  exit: (forced) => process.exit(forced),
});
process.exitCode = code;
// The spans an OpenTelemetry SDK the user loaded still holds (docs/tracing.md); nothing without one.
await flushTraces();
// Let stdout drain, then leave even if a library left a handle open.
setTimeout(() => process.exit(code), 50).unref();
