import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { createEngine } from '../../src/engine.js';
import { replay } from '../../src/job/index.js';
import { sleeper } from '../fixtures/workers.js';
import { spawnJobtrail } from '../support/cli.js';
import { esdbUrl, readyTestStore, testJobId, testStoreLabel, testStoreUrl } from '../support/testStore.js';

const test = suite(`crash recovery (${testStoreLabel}, in-process broker)`);
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-crash-'));
test.before(readyTestStore);
test.after(() => rmSync(dir, { recursive: true, force: true }));

// Issue 24: on the embedded store, at both durability settings (synchronous=full, the default, and normal: a
// SIGKILL is a crash of the process, which normal survives too). EventStoreDB has no such setting.
const settings: readonly ('full' | 'normal' | undefined)[] = esdbUrl ? [undefined] : ['full', 'normal'];

for (const synchronous of settings)
  test(`a run process killed with SIGKILL mid-run: a new process on the same file finishes every job, none completes twice${synchronous ? ` (synchronous=${synchronous})` : ''}`, async () => {
    const store =
      synchronous === undefined ? testStoreUrl(dir) : `${testStoreUrl(dir, `events-${synchronous}.db`)}?synchronous=${synchronous}`;
    // This process only enqueues and reads (it starts no consumer).
    const engine = await createEngine({ store, workers: [sleeper] });
    try {
      const ids: string[] = [];
      // Every tenth job runs for 3 s, so that when the first completions are seen some job is surely
      // still running at the kill (with short jobs only, the kill could land between two of them).
      const msOf = (i: number) => (i % 10 === 9 ? 3000 : 150 + (i % 5) * 50);
      for (let i = 0; i < 60; i++)
        ids.push(
          (
            await engine.enqueue(
              'sleeper',
              { ms: msOf(i), value: i, ...(i % 7 === 0 ? { failAttempts: [1] } : {}) },
              { jobId: testJobId(`crash-${synchronous ?? 'esdb'}-${i}`) },
            )
          ).jobId,
        );

      const args = ['run', '--store', store, '--workers', 'test/fixtures/workers.ts'];
      const first = spawnJobtrail(args);
      let firstErr = '';
      first.stderr!.on('data', (d) => (firstErr += d));
      const firstExit = once(first, 'exit');
      // Wait until some jobs completed and some are running, then kill without warning.
      let views = await Promise.all(ids.map((id) => engine.getJob(id)));
      for (
        let i = 0;
        i < 200 &&
        first.exitCode === null &&
        !(views.some((v) => v?.status === 'completed') && views.some((v) => v?.status === 'in_progress'));
        i++
      ) {
        await new Promise((r) => setTimeout(r, 50));
        views = await Promise.all(ids.map((id) => engine.getJob(id)));
      }
      assert.is(first.exitCode, null, `the first run process exited by itself: ${firstErr}`);
      first.kill('SIGKILL');
      await firstExit;
      // Read after the exit: the dead process writes nothing more.
      views = await Promise.all(ids.map((id) => engine.getJob(id)));
      const runningAtKill = views.filter((v) => v?.status === 'in_progress').length;
      const completedAtKill = views.filter((v) => v?.status === 'completed').length;
      assert.ok(runningAtKill > 0, 'some jobs were running when the process was killed');
      assert.ok(completedAtKill < ids.length, 'some jobs were left to do');

      const second = spawnJobtrail(args);
      let secondErr = '';
      second.stderr!.on('data', (d) => (secondErr += d));
      const secondExit = once(second, 'exit');
      try {
        const final = await engine.waitForFinal(ids, { timeoutMs: 60_000 });
        assert.ok(
          final.every((v) => v.status === 'completed'),
          final
            .filter((v) => v.status !== 'completed')
            .map((v) => `${v.jobId}:${v.status}`)
            .join(' '),
        );
      } finally {
        second.kill('SIGTERM');
        await secondExit;
      }
      // The start line says which durability was in force.
      if (synchronous !== undefined) assert.match(secondErr, `store sqlite synchronous=${synchronous} (`);

      let lost = 0;
      for (const id of ids) {
        const events = (await engine.history(id)).map((e) => e.event);
        const checked = replay(events);
        assert.ok(E.isRight(checked), E.isLeft(checked) ? `${id}: ${checked.left.message}` : '');
        assert.is(events.filter((e) => e.type === 'JobCompleted').length, 1, `${id} completed once`);
        const startedAttempts = events.flatMap((e) => (e.type === 'JobStarted' ? [e.data.attempt] : []));
        assert.is(new Set(startedAttempts).size, startedAttempts.length, `${id}: no attempt started twice`);
        lost += events.filter((e) => e.type === 'JobErrored' && e.data.error.name === 'WorkerLost').length;
      }
      assert.is(lost, runningAtKill, 'every attempt running at the kill is recorded as WorkerLost');
    } finally {
      await engine.close();
    }
  });

test.run();
