import { PassThrough } from 'node:stream';
import type { DeployResult } from '../../../src/run/reconciler.js';
import type { OutcomeKind } from '../../../src/core/outcome.js';
import { closeLogger, createLogger } from '../../../src/observe/log/create-logger.js';
import { TargetScheduler } from '../../../src/run/target-scheduler.js';
import type { TimerApi } from '../../../src/run/settle-timers.js';

/** Timers the test fires by hand; everything else is the real scheduler. */
function heldTimers(): TimerApi & { fireAll(): void; pending(): number; advanceClock(ms: number): void } {
  let now = 0;
  const timers = new Map<number, () => void>();
  let nextId = 0;
  return {
    now: () => now,
    setTimeout: (callback) => {
      nextId += 1;
      timers.set(nextId, callback);
      return nextId;
    },
    clearTimeout: (handle) => {
      timers.delete(handle as number);
    },
    fireAll() {
      const due = [...timers.values()];
      timers.clear();
      for (const callback of due) callback();
    },
    pending: () => timers.size,
    advanceClock(ms) {
      now += ms;
    },
  };
}

function result(lineage: string, kind: OutcomeKind): DeployResult {
  return { lineage, target: 't', kind, durationMs: 1, ...(kind === 'not-ready' ? { reason: 'links on mixed versions' } : {}) };
}

describe('TargetScheduler', () => {
  const stream = new PassThrough();
  let logged = '';
  stream.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  const log = createLogger({ level: 'debug', format: 'text', stream });
  afterAll(async () => closeLogger(log));

  it('runs a lineage once however many events arrive while it waits, and again after an event during its run', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const scheduler = new TargetScheduler('t', async (lineage) => {
      runs.push(lineage);
      if (runs.length === 1) await gate;
      return result(lineage, 'unchanged');
    }, log, 60_000, heldTimers());
    scheduler.enqueue('a', 'event');
    await new Promise((resolve) => setImmediate(resolve));
    scheduler.enqueue('a', 'event');
    scheduler.enqueue('a', 'event');
    release();
    await scheduler.idle();
    await scheduler.idle();
    // Three events during the first run: exactly one more run, which reads the lineage as it is by then.
    expect(runs).toEqual(['a', 'a']);
  });

  it('retries not-ready, failed and held outcomes, each on its backoff', async () => {
    const timers = heldTimers();
    const outcomes: Record<string, OutcomeKind[]> = { n: ['not-ready', 'deployed'], f: ['failed', 'failed', 'unchanged'], h: ['held'] };
    const runs: string[] = [];
    const scheduler = new TargetScheduler('t', async (lineage) => {
      runs.push(lineage);
      return result(lineage, outcomes[lineage]?.shift() ?? 'unchanged');
    }, log, 60_000, timers);
    for (const lineage of ['n', 'f', 'h']) scheduler.enqueue(lineage, 'event');
    await scheduler.idle();
    expect(timers.pending()).toBe(3);
    timers.fireAll();
    await scheduler.idle();
    timers.fireAll();
    await scheduler.idle();
    expect(runs.sort()).toEqual(['f', 'f', 'f', 'h', 'h', 'n', 'n']);
    expect(timers.pending()).toBe(0);
  });

  it('alerts once when a lineage stays not ready past the alert time, and keeps retrying', async () => {
    const timers = heldTimers();
    logged = '';
    const scheduler = new TargetScheduler('t', async (lineage) => result(lineage, 'not-ready'), log, 1000, timers);
    scheduler.enqueue('stuck', 'event');
    await scheduler.idle();
    for (let round = 0; round < 3; round += 1) {
      timers.advanceClock(600);
      timers.fireAll();
      await scheduler.idle();
    }
    expect(logged.match(/lineage still not ready; an operator should look/g)).toHaveLength(1);
    expect(timers.pending()).toBe(1);
  });

  it('runs fresh events before resyncs', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const scheduler = new TargetScheduler('t', async (lineage) => {
      runs.push(lineage);
      if (lineage === 'blocker') await gate;
      return result(lineage, 'unchanged');
    }, log, 60_000, heldTimers());
    // Fill every slot so that what follows waits in the queue.
    for (let index = 0; index < 16; index += 1) scheduler.enqueue(index === 0 ? 'blocker' : `busy${index}`, 'resync');
    for (let index = 0; index < 5; index += 1) scheduler.enqueue(`resync${index}`, 'resync');
    scheduler.enqueue('event', 'event');
    // Already queued: a second event changes nothing, a resync of it neither.
    scheduler.enqueue('event', 'event');
    scheduler.enqueue('resync0', 'resync');
    release();
    await scheduler.idle();
    expect(runs.indexOf('event')).toBeLessThan(runs.indexOf('resync0'));
    expect(runs.filter((name) => name === 'event' || name === 'resync0')).toHaveLength(2);
  });

  it('tells the runner why each job runs: a resync an event came for runs as the event, a retry as an event', async () => {
    const timers = heldTimers();
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const outcomes: Record<string, OutcomeKind[]> = { retried: ['failed', 'deployed'] };
    const scheduler = new TargetScheduler('t', async (lineage, priority) => {
      runs.push(`${lineage}:${priority}`);
      if (lineage === 'blocker') await gate;
      return result(lineage, outcomes[lineage]?.shift() ?? 'unchanged');
    }, log, 60_000, timers);
    for (let index = 0; index < 16; index += 1) scheduler.enqueue(index === 0 ? 'blocker' : `busy${index}`, 'resync');
    scheduler.enqueue('calm', 'resync');
    scheduler.enqueue('changed', 'resync');
    scheduler.enqueue('changed', 'event');
    scheduler.enqueue('retried', 'resync');
    release();
    await scheduler.idle();
    timers.fireAll();
    await scheduler.idle();
    expect(runs).toEqual(expect.arrayContaining(['blocker:resync', 'calm:resync', 'changed:event', 'retried:resync', 'retried:event']));
    expect(runs.filter((run) => run.startsWith('changed') || run.startsWith('retried'))).toHaveLength(3);
  });

  it('holds jobs while the target is down, and drops queued work at stop', async () => {
    const runs: string[] = [];
    const scheduler = new TargetScheduler('t', async (lineage) => {
      runs.push(lineage);
      return result(lineage, 'unchanged');
    }, log, 60_000, heldTimers());
    scheduler.setDown(true);
    scheduler.enqueue('a', 'event');
    await scheduler.idle();
    expect(runs).toEqual([]);
    scheduler.setDown(false);
    expect(await scheduler.stop(1000)).toBe(true);
    scheduler.enqueue('b', 'event');
    await scheduler.idle();
    expect(runs).toEqual([]);
  });
});
