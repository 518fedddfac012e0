// The fake EventStoreDB server (test/support/fakeEsdb/) through the real
// client, without jobtrail: that it answers as the server's source says a
// 24.10 node answers, on the paths where the fake used to be more lenient or
// silent. The adapter's behaviour against it is in
// test/contract/eventStore.esdbFakeServer.test.ts.
import {
  AccessDeniedError,
  ANY,
  BACKWARDS,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  jsonEvent,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { v4 as uuid } from 'uuid';
import { startFakeEsdb, type FakeEsdb } from '../support/fakeEsdb/index.js';
import { uniqueStream, waitFor } from '../support/eventStoreTesting.js';

const test = suite('fake EventStoreDB server, through the client');

const running: { fake: FakeEsdb; client: EventStoreDBClient }[] = [];
const start = async (options: Parameters<typeof startFakeEsdb>[0] = {}, connect?: (fake: FakeEsdb) => string) => {
  const fake = await startFakeEsdb(options);
  const client = EventStoreDBClient.connectionString(connect ? connect(fake) : fake.connectionString);
  running.push({ fake, client });
  return { fake, client };
};
test.after.each(async () => {
  for (const { fake, client } of running.splice(0)) {
    await client.dispose();
    await fake.stop();
  }
});

const read = async (client: EventStoreDBClient, stream: string, options: { resolveLinkTos?: boolean } = {}): Promise<ResolvedEvent[]> => {
  const events: ResolvedEvent[] = [];
  for await (const e of client.readStream(stream, options)) events.push(e);
  return events;
};
const readAll = async (client: EventStoreDBClient): Promise<ResolvedEvent[]> => {
  const events: ResolvedEvent[] = [];
  for await (const e of client.readAll()) events.push(e);
  return events;
};
const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => assert.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
const text = (data: unknown): string => Buffer.from(data as Uint8Array).toString('utf8');
const event = (data: unknown = { n: 1 }, type = 'T', metadata?: Record<string, unknown>) =>
  jsonEvent({ id: uuid(), type, data: data as Record<string, unknown>, ...(metadata === undefined ? {} : { metadata }) });

test('the client learns of BatchAppend from ServerFeatures and appends through it, as against a 24.10 server', async () => {
  const { fake, client } = await start();
  await client.appendToStream(uniqueStream(), [event(), event()], { expectedRevision: NO_STREAM });
  await client.appendToStream(uniqueStream(), event(), { expectedRevision: ANY });
  assert.is(fake.calls('GetSupportedMethods'), 1);
  assert.is(fake.calls('BatchAppend'), 1, 'one shared duplex call');
  assert.is(fake.calls('BatchAppend.request'), 2, 'one request per append');
  assert.is(fake.calls('Append'), 0);

  // A server without ServerFeatures (before 21.10) gets the unary Append.
  const old = await start({ serverFeatures: false });
  await old.client.appendToStream(uniqueStream(), event(), { expectedRevision: NO_STREAM });
  assert.equal([old.fake.calls('Append'), old.fake.calls('BatchAppend')], [1, 0]);
});

test('$by_category and $stream_by_category: off by default; on, links in $ce-, stream references in $category-, system records in $all', async () => {
  const off = await start();
  await off.client.appendToStream(`job-${uuid()}`, event(), { expectedRevision: NO_STREAM });
  assert.instance(await rejection(read(off.client, '$ce-job')), StreamNotFoundError, 'no $ce-job without $by_category');

  const { fake, client } = await start({ systemProjections: ['$by_category', '$stream_by_category'] });
  const a = `job-${uuid()}`;
  const b = `job-${uuid()}`;
  await client.appendToStream(a, [event({ n: 0 }), event({ n: 1 })], { expectedRevision: NO_STREAM });
  await client.appendToStream(b, event({ n: 2 }), { expectedRevision: NO_STREAM });
  await client.appendToStream('nocategory', event(), { expectedRevision: NO_STREAM });

  const links = await read(client, '$ce-job');
  assert.equal(
    links.map((l) => [l.event?.type, text(l.event?.data), l.link]),
    [
      ['$>', `0@${a}`, undefined],
      ['$>', `1@${a}`, undefined],
      ['$>', `0@${b}`, undefined],
    ],
    'without resolveLinkTos: the link records themselves',
  );
  const references = await read(client, '$category-job');
  assert.equal(
    references.map((r) => [r.event?.type, text(r.event?.data)]),
    [
      ['$@', a],
      ['$@', b],
    ],
    'one stream reference per new stream',
  );
  const all = (await readAll(client)).map((e) => e.event?.streamId);
  assert.equal(all.filter((s) => s === '$ce-job').length, 3, 'the links are in $all');
  assert.ok(all.indexOf('$ce-job') > all.indexOf(a), 'after the event they link to');
  assert.is(fake.log.all().length, all.length, '$all is the whole log');
  assert.ok(!all.includes('$ce-nocategory'));
});

test('resolveLinkTos on stream reads and stream subscriptions: a resolved link carries both link and event', async () => {
  const { client } = await start({ systemProjections: ['$by_category'] });
  const category = `cat${uuid().slice(0, 8)}`;
  const a = `${category}-${uuid()}`;
  const first = event({ n: 0 });
  await client.appendToStream(a, first, { expectedRevision: NO_STREAM });
  const [resolved] = await read(client, `$ce-${category}`, { resolveLinkTos: true });
  assert.is(resolved?.link?.type, '$>');
  assert.is(resolved?.link?.streamId, `$ce-${category}`);
  assert.is(resolved?.event?.id, first.id);
  assert.is(resolved?.event?.streamId, a);
  assert.is(resolved?.event?.revision, 0n);

  const seen: ResolvedEvent[] = [];
  const subscription = client.subscribeToStream(`$ce-${category}`, { resolveLinkTos: true });
  subscription.on('data', (e: ResolvedEvent) => void seen.push(e));
  const second = event({ n: 1 });
  await waitFor('the catch-up', () => seen.length === 1);
  await client.appendToStream(a, second, { expectedRevision: 0n });
  await waitFor('the live link', () => seen.length === 2);
  await subscription.unsubscribe();
  assert.equal(
    seen.map((e) => [e.link?.type, e.event?.id]),
    [
      ['$>', first.id],
      ['$>', second.id],
    ],
  );

  // A link whose event is gone (its stream soft-deleted) comes back as the link alone.
  await client.deleteStream(a);
  const [dangling] = await read(client, `$ce-${category}`, { resolveLinkTos: true });
  assert.is(dangling?.link?.type, '$>');
  assert.is(dangling?.event, undefined);
});

test('soft delete: reads say StreamNotFound; any/no_stream recreate it after the last revision; stream_exists is StreamDeleted', async () => {
  const { client } = await start();
  const stream = uniqueStream();
  await client.appendToStream(stream, [event(), event()], { expectedRevision: NO_STREAM });
  await client.deleteStream(stream);
  assert.instance(await rejection(read(client, stream)), StreamNotFoundError);
  const [meta] = await read(client, `$$${stream}`);
  assert.is(meta?.event?.type, '$metadata');
  // `$tb` = long.MaxValue, the server's mark of a soft-deleted stream (the client's JSON.parse rounds it).
  assert.ok((meta?.event?.data as { $tb: number }).$tb > Number.MAX_SAFE_INTEGER);

  assert.instance(await rejection(client.appendToStream(stream, event(), { expectedRevision: STREAM_EXISTS })), StreamDeletedError);
  const recreated = await client.appendToStream(stream, event(), { expectedRevision: ANY });
  assert.is(recreated.nextExpectedRevision, 2n, 'the numbering goes on');
  assert.equal(
    (await read(client, stream)).map((e) => e.event?.revision),
    [2n],
    'only the events after the delete',
  );
  const metas = await read(client, `$$${stream}`);
  assert.equal(metas.at(-1)?.event?.data, { $tb: 2 });

  await client.deleteStream(stream);
  assert.is((await client.appendToStream(stream, event(), { expectedRevision: NO_STREAM })).nextExpectedRevision, 3n);
  // Deleting what was never written is a conflict.
  assert.instance(await rejection(client.deleteStream(uniqueStream())), WrongExpectedVersionError);
});

test('tombstone: StreamDeleted on read, append (in-band, on BatchAppend), delete; a $streamDeleted record at long.MaxValue in $all', async () => {
  const { client } = await start();
  const stream = uniqueStream();
  await client.appendToStream(stream, event(), { expectedRevision: NO_STREAM });
  await client.tombstoneStream(stream);
  assert.instance(await rejection(read(client, stream)), StreamDeletedError);
  assert.instance(await rejection(client.appendToStream(stream, event(), { expectedRevision: ANY })), StreamDeletedError);
  assert.instance(await rejection(client.appendToStream(stream, event(), { expectedRevision: NO_STREAM })), StreamDeletedError);
  assert.instance(await rejection(client.deleteStream(stream)), StreamDeletedError);
  const tombstone = (await readAll(client)).find((e) => e.event?.streamId === stream && e.event.type === '$streamDeleted');
  assert.is(tombstone?.event?.revision, 9223372036854775807n);
});

test('MaxAppendSize: counted as the server does (data + metadata + 2 × type length), refused over it with MaxAppendSizeExceededError', async () => {
  const { fake, client } = await start({ maxAppendSize: 1000 });
  // {"s":"xxx…"} is k + 8 bytes; type "T" counts 2; metadata {"a":1} counts 7.
  const sized = (k: number, metadata?: Record<string, unknown>) => event({ s: 'x'.repeat(k) }, 'T', metadata);
  await client.appendToStream(uniqueStream(), sized(990), { expectedRevision: NO_STREAM });
  await client.appendToStream(uniqueStream(), sized(983, { a: 1 }), { expectedRevision: NO_STREAM });
  await client.appendToStream(uniqueStream(), [sized(490), sized(490)], { expectedRevision: NO_STREAM });
  const error = await rejection(client.appendToStream(uniqueStream(), sized(991), { expectedRevision: NO_STREAM }));
  assert.instance(error, MaxAppendSizeExceededError);
  assert.is((error as MaxAppendSizeExceededError).maxAppendSize, 1000);
  assert.instance(
    await rejection(client.appendToStream(uniqueStream(), sized(984, { a: 1 }), { expectedRevision: NO_STREAM })),
    MaxAppendSizeExceededError,
  );
  assert.is(fake.log.all().length, 4, 'nothing of the refused appends was written');
  assert.is(fake.log.maxAppendSize, 1000);
  assert.is((await startFakeEsdb().then(async (f) => (await f.stop(), f))).log.maxAppendSize, 1_048_576, 'the default is the server’s');
});

test('idempotency: any/stream_exists only within the committed-events cache; exact revision and no_stream for ever', async () => {
  const { client } = await start({ idempotencyCacheSize: 3 });
  const stream = uniqueStream();
  const retried = event();
  await client.appendToStream(stream, retried, { expectedRevision: ANY });
  assert.is((await client.appendToStream(stream, retried, { expectedRevision: ANY })).nextExpectedRevision, 0n, 'still cached: idempotent');
  const exact = uniqueStream();
  const kept = event();
  await client.appendToStream(exact, kept, { expectedRevision: NO_STREAM });
  for (let i = 0; i < 3; i += 1) await client.appendToStream(uniqueStream(), event(), { expectedRevision: ANY });
  // The cache forgot it: the server writes the same event again.
  assert.is((await client.appendToStream(stream, retried, { expectedRevision: ANY })).nextExpectedRevision, 1n);
  assert.equal(
    (await read(client, stream)).map((e) => e.event?.id),
    [retried.id, retried.id],
  );
  // By revision, the server reads the event by its number: idempotent however long ago.
  assert.is((await client.appendToStream(exact, kept, { expectedRevision: NO_STREAM })).nextExpectedRevision, 0n);
  assert.is((await read(client, exact)).length, 1);
});

test('NotLeader: the whole BatchAppend call fails with the leader’s address; the client reconnects there', async () => {
  const { fake, client } = await start();
  await client.appendToStream(uniqueStream(), event(), { expectedRevision: NO_STREAM });
  fake.failNext({ kind: 'not-leader' });
  const error = await rejection(client.appendToStream(uniqueStream(), event(), { expectedRevision: NO_STREAM }));
  assert.instance(error, NotLeaderError);
  assert.equal((error as NotLeaderError).leader, { address: '127.0.0.1', port: Number(/:(\d+)\?/.exec(fake.connectionString)?.[1]) });
  await client.appendToStream(uniqueStream(), event(), { expectedRevision: NO_STREAM });
  assert.is(fake.calls('GetSupportedMethods'), 2, 'a new connection asks for the features again');
  assert.is(fake.calls('BatchAppend'), 2, 'and opens a new BatchAppend call');
});

test('deadline: an in-band Timeout on BatchAppend, DEADLINE_EXCEEDED on a read; written or not, as asked', async () => {
  const { fake, client } = await start();
  const stream = uniqueStream();
  fake.failNext({ kind: 'deadline', written: true });
  assert.instance(await rejection(client.appendToStream(stream, event(), { expectedRevision: NO_STREAM })), DeadlineExceededError);
  assert.is((await read(client, stream)).length, 1, 'written before the timeout');
  fake.failNext({ kind: 'deadline', operation: 'read' });
  assert.instance(await rejection(read(client, stream)), DeadlineExceededError);
  assert.is(fake.calls('BatchAppend'), 1, 'an in-band error leaves the shared call open');
});

test('a secure node: no credentials is AccessDenied, wrong ones too (UNAUTHENTICATED), the right ones pass', async () => {
  const secure = { username: 'admin', password: 'changeit' };
  const { client } = await start({ secure });
  const stream = uniqueStream();
  await client.appendToStream(stream, event(), { expectedRevision: NO_STREAM });
  assert.is((await read(client, stream)).length, 1);

  const anonymous = (await start({ secure }, (fake) => fake.anonymousConnectionString)).client;
  assert.instance(await rejection(anonymous.appendToStream(uniqueStream(), event(), { expectedRevision: NO_STREAM })), AccessDeniedError);
  assert.instance(await rejection(read(anonymous, stream)), AccessDeniedError);
  const wrong = (await start({ secure }, (fake) => fake.connectionString.replace('changeit', 'nope'))).client;
  assert.instance(await rejection(read(wrong, stream)), AccessDeniedError);
});

test('$all backwards from the end gives the last record first', async () => {
  const { client } = await start();
  const last = event();
  await client.appendToStream(uniqueStream(), event(), { expectedRevision: NO_STREAM });
  await client.appendToStream(uniqueStream(), last, { expectedRevision: NO_STREAM });
  const reading: ResolvedEvent[] = [];
  for await (const e of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) reading.push(e);
  assert.equal(
    reading.map((e) => e.event?.id),
    [last.id],
  );
});

test.run();
