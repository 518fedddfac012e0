import * as E from 'fp-ts/lib/Either.js';
import type { Cron } from 'croner';
import type { EventStore, RecordedEvent, Subscription } from '../eventStore/index.js';
import { isoDate } from '../job/index.js';
import { storeRead } from '../jobStore/index.js';
import type { Logger } from '../log/index.js';
import { runJobId, scheduleIdOfStream, scheduleStreamPrefix, type ScheduleEvent } from './events.js';
import { enqueueRun, scheduleRunStatus, type ScheduleDeps } from './schedules.js';
import { applyRecorded, noSchedule, type LoadedSchedule } from './scheduleStore.js';
import type { ScheduleView } from './state.js';
import { maxCatchUp, maxTimerMs, nextTick, parseCron, planTicks, ticksBetween } from './ticks.js';

/** A schedule as this process follows it: its stream as read, its cron, and the newest time whose ticks it has handled. */
interface Entry {
  loaded: LoadedSchedule;
  cron: Cron | undefined;
  /** Ticks at or before it are handled (fired, skipped, or left by `catchUp`). */
  cursor: number;
}

export interface Scheduler {
  /** Stops the timer and the subscription; resolves once no tick is being fired. */
  stop(): Promise<void>;
}

const activeView = (e: Entry): ScheduleView | undefined => (e.loaded.state?.status === 'active' ? e.loaded.state : undefined);

/**
 * The scheduler of one process (docs/recurring.md). Every consuming process runs one; none leads. It learns the
 * schedules from their streams (read at start, then followed), keeps one timer for the earliest next tick, and at a
 * tick enqueues the run `<scheduleId>@<fireTime>`: the job stream's `no_stream` append lets exactly one process create
 * it, so every process may fire the same tick. `overlap: 'skip'` ticks are decided on the schedule stream instead, at
 * its revision, for the same reason.
 */
export const startScheduler = async (deps: ScheduleDeps & { readonly store: EventStore; readonly log: Logger }): Promise<Scheduler> => {
  const { log } = deps;
  const now = () => deps.conductor.now();
  const entries = new Map<string, Entry>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // All the scheduler's work runs one piece at a time: the events it follows, and the ticks it fires.
  let chain: Promise<void> = Promise.resolve();
  const serially = (what: string, f: () => Promise<void>): Promise<void> =>
    (chain = chain.then(async () => {
      if (stopped) return;
      try {
        await f();
      } catch (error) {
        log.error({ err: (error as Error)?.stack ?? String(error) }, `scheduler: ${what} failed`);
      }
    }));

  const cronOf = (s: ScheduleView | undefined): Cron | undefined => {
    if (s === undefined) return undefined;
    try {
      return parseCron(s.cron, s.timezone);
    } catch (error) {
      // Checked at upsert; a cron this croner refuses (another version wrote it) is reported, not fired.
      log.error({ scheduleId: s.scheduleId, cron: s.cron, err: (error as Error).message }, 'scheduler: cannot read the cron');
      return undefined;
    }
  };

  /** `overlap: 'skip'`: decides the tick on the schedule stream, at its revision, then runs it if it was decided to run. */
  const decideTick = async (entry: Entry, fireTime: Date): Promise<void> => {
    const iso = fireTime.toISOString();
    for (let tries = 0; tries < 20; tries++) {
      entry.loaded = await storeRead(deps.schedules.load(entry.loaded.scheduleId, entry.loaded));
      const s = activeView(entry);
      if (s === undefined) return;
      const d = s.lastDecision;
      if (d !== undefined && Date.parse(d.fireTime) >= fireTime.getTime()) {
        // Decided already, by this process or another: a run decided here may have been left unenqueued by a crash.
        if (d.outcome === 'fired' && d.fireTime === iso) await enqueueRun(deps, s, fireTime);
        return;
      }
      let running: string | undefined;
      for (const prev of [s.lastFired, s.lastTriggered]) {
        if (prev === undefined || running !== undefined) continue;
        const status = await scheduleRunStatus(deps, prev.jobId);
        if (status !== undefined && !status.final) running = prev.jobId;
      }
      const jobId = runJobId(s.scheduleId, fireTime);
      const at = isoDate(now());
      const event: ScheduleEvent =
        running !== undefined
          ? { type: 'ScheduleTickSkipped', data: { scheduleId: s.scheduleId, fireTime: isoDate(fireTime), runningJobId: running, at } }
          : { type: 'ScheduleTickFired', data: { scheduleId: s.scheduleId, fireTime: isoDate(fireTime), jobId, at } };
      const r = await deps.schedules.append(entry.loaded, [event])();
      if (E.isLeft(r)) {
        if (r.left._tag === 'WrongExpectedRevision') continue;
        throw new Error(`schedule "${s.scheduleId}": recording the tick ${iso} failed: ${r.left.message}`);
      }
      entry.loaded = r.right;
      if (running !== undefined) log.info({ scheduleId: s.scheduleId, fireTime: iso, runningJobId: running }, 'scheduler: tick skipped');
      else await enqueueRun(deps, s, fireTime);
      return;
    }
  };

  const fire = async (entry: Entry, fireTime: Date): Promise<void> => {
    const s = activeView(entry);
    if (s === undefined) return;
    if (s.overlap === 'skip') return decideTick(entry, fireTime);
    const r = await enqueueRun(deps, s, fireTime);
    log.debug({ scheduleId: s.scheduleId, jobId: r.jobId, created: r.created }, 'scheduler: fired');
  };

  /**
   * At start, or when a schedule first appears: the ticks since it became active that no process handled (newest
   * first, back to the first one that has its run or decision), fired as its `catchUp` says.
   */
  const catchUp = async (entry: Entry): Promise<void> => {
    const s = activeView(entry);
    if (s === undefined || entry.cron === undefined) return;
    const at = now();
    const candidates = ticksBetween(entry.cron, new Date(Math.max(Date.parse(s.activeSince), entry.cursor)), at, maxCatchUp + 1);
    const unhandled: Date[] = [];
    for (let i = candidates.length - 1; i >= 0; i--) {
      const t = candidates[i]!;
      const d = s.lastDecision;
      if (d !== undefined && Date.parse(d.fireTime) >= t.getTime()) {
        if (d.outcome === 'fired' && (await scheduleRunStatus(deps, d.jobId)) === undefined)
          await enqueueRun(deps, s, new Date(d.fireTime));
        break;
      }
      if ((await scheduleRunStatus(deps, runJobId(s.scheduleId, t))) !== undefined) break;
      unhandled.unshift(t);
    }
    const planned = planTicks(unhandled, at, s.catchUp);
    if (unhandled.length > 0)
      log.info(
        { scheduleId: s.scheduleId, missed: unhandled.length, firing: planned.length, catchUp: s.catchUp },
        'scheduler: catching up',
      );
    entry.cursor = at.getTime();
    for (const t of planned) await fire(entry, t);
  };

  /** The timer: fires every active schedule's due ticks, then waits for the next. */
  const onTimer = () =>
    serially('firing ticks', async () => {
      const at = now();
      for (const entry of entries.values()) {
        const s = activeView(entry);
        if (s === undefined || entry.cron === undefined) continue;
        const due = ticksBetween(entry.cron, new Date(entry.cursor), at, maxCatchUp + 1);
        if (due.length === 0) continue;
        entry.cursor = at.getTime();
        for (const t of planTicks(due, at, s.catchUp)) {
          try {
            await fire(entry, t);
          } catch (error) {
            log.error({ scheduleId: s.scheduleId, fireTime: t.toISOString(), err: (error as Error).message }, 'scheduler: a tick failed');
          }
        }
      }
    }).then(arm);

  /** One timer, for the earliest next tick of all; a wait past what `setTimeout` takes is made in steps. */
  function arm(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    let earliest: number | undefined;
    for (const entry of entries.values()) {
      if (activeView(entry) === undefined || entry.cron === undefined) continue;
      const next = nextTick(entry.cron, new Date(entry.cursor));
      if (next !== undefined && (earliest === undefined || next.getTime() < earliest)) earliest = next.getTime();
    }
    if (earliest === undefined) return;
    const delay = Math.min(Math.max(0, earliest - now().getTime()), maxTimerMs);
    timer = setTimeout(onTimer, delay);
  }

  /** An event of a schedule stream, as followed: applied in revision order (a gap is filled by reading the stream). */
  const onEvent = (e: RecordedEvent) =>
    serially('following a schedule', async () => {
      const id = scheduleIdOfStream(e.streamId);
      if (id === undefined) return;
      const known = entries.get(id);
      const before = known?.loaded ?? noSchedule(id);
      const wasActive = known !== undefined && activeView(known) !== undefined;
      const expected = before.revision === 'no_stream' ? 0 : before.revision + 1;
      if (e.revision < expected) return;
      const loaded =
        e.revision === expected ? applyRecorded(before, [e]) : await storeRead(deps.schedules.load(id, before), `schedule "${id}"`);
      const changedDefinition = e.type === 'ScheduleSet' || e.type === 'ScheduleResumed';
      const entry: Entry = known ?? { loaded, cron: undefined, cursor: 0 };
      entry.loaded = loaded;
      entries.set(id, entry);
      const s = activeView(entry);
      if (changedDefinition || (s !== undefined && !wasActive)) {
        entry.cron = cronOf(loaded.state);
        // Ticks under this definition start where it was set or resumed; earlier ones are not its to fire.
        if (s !== undefined) entry.cursor = Math.max(entry.cursor, Date.parse(s.activeSince));
        arm();
      } else if (wasActive !== (s !== undefined)) arm();
    });

  // Start: every schedule as recorded, its missed ticks, then the changes as they come.
  const all = await storeRead(deps.schedules.loadAll(), 'schedules');
  for (const loaded of all.schedules) entries.set(loaded.scheduleId, { loaded, cron: cronOf(loaded.state), cursor: 0 });
  for (const entry of entries.values()) await serially('catching up', () => catchUp(entry));
  const subscription: Subscription = deps.store.subscribe(
    { streamPrefix: scheduleStreamPrefix, ...(all.position !== undefined ? { after: all.position } : {}) },
    {
      onEvent,
      onError: (error) => log.error({ err: error.message }, 'scheduler: following the schedules stopped'),
    },
  );
  arm();
  log.info({ schedules: [...entries.values()].filter((e) => activeView(e) !== undefined).length }, 'scheduler started');

  return {
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await subscription.stop();
      await chain;
    },
  };
};
