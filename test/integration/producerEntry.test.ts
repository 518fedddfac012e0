// `jobtrail/producer` (package.json exports "./producer" → dist/producer/index.js) loads amqplib and nothing
// native: a service that only enqueues must not need better-sqlite3 or the EventStoreDB gRPC client (issue 23).
// A child process imports the built entry under a resolve hook that refuses those packages, connects to
// RabbitMQ (which loads the RabbitMQ adapter and amqplib), and reports what it loaded.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../support/cli.js';
import { rabbitUrl } from '../support/rabbit.js';

const test = suite('jobtrail/producer loads no native module');
const exec = promisify(execFile);
const entry = join(root, 'dist/producer/index.js');

/** Resolve hooks (module.register) that refuse the native and gRPC packages, and note every package resolved. */
const hooks = `
export async function resolve(specifier, context, next) {
  if (/^(better-sqlite3|@eventstore\\/db-client|@grpc\\/grpc-js|@kurrent\\/)/.test(specifier))
    throw new Error('refused: jobtrail/producer imported ' + specifier + ' from ' + context.parentURL);
  return next(specifier, context);
}`;

const child = `
import { register, createRequire } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
const m = await import(${JSON.stringify(`file://${entry}`)});
const producer = await m.createProducer({ broker: process.env.BROKER });
await producer.close();
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({
  exports: Object.keys(m).sort(),
  amqplib: loaded.some((f) => f.includes('/node_modules/amqplib/')),
  forbidden: loaded.filter((f) => /node_modules\\/(better-sqlite3|@eventstore|@grpc|@kurrent)\\//.test(f)),
}));
`;

test('package.json exports ./producer with its types', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  assert.equal(pkg.exports['./producer'], { types: './dist/producer/index.d.ts', default: './dist/producer/index.js' });
});

test('the built entry connects to RabbitMQ without loading better-sqlite3 or the gRPC client', async () => {
  assert.ok(existsSync(entry), `${entry} is missing: run npm run build`);
  const { stdout, stderr } = await exec(process.execPath, ['--input-type=module', '-e', child], {
    cwd: root,
    env: { ...process.env, BROKER: rabbitUrl },
    timeout: 60_000,
  }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`the producer entry failed: ${error.message}\n${error.stderr ?? ''}`);
  });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { exports: string[]; amqplib: boolean; forbidden: string[] };
  assert.equal(r.exports, ['EnqueueCommandRejectedError', 'ProducerError', 'createProducer'], stderr);
  assert.ok(r.amqplib, 'amqplib was loaded: the RabbitMQ adapter is the one used');
  assert.equal(r.forbidden, []);
});

test('the hook does refuse a native module: the library entry loads better-sqlite3', async () => {
  const library = child.replace(JSON.stringify(`file://${entry}`), JSON.stringify(`file://${join(root, 'dist/index.js')}`));
  const r = await exec(process.execPath, ['--input-type=module', '-e', library], {
    cwd: root,
    env: { ...process.env, BROKER: 'memory' },
    timeout: 60_000,
  }).then(
    () => 'loaded',
    (error: { stderr?: string }) => error.stderr ?? '',
  );
  assert.match(r, /refused: jobtrail\/producer imported (better-sqlite3|@eventstore\/db-client)/);
});

test.run();
