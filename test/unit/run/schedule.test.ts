import { retryAfter } from '../../../src/core/retry-policy.js';
import { SettleTimers, type TimerApi } from '../../../src/run/settle-timers.js';

/** A clock the test moves by hand. */
function manualTimers(): TimerApi & { advance(ms: number): void } {
  let now = 0;
  let timers: { at: number; callback: () => void; id: number }[] = [];
  let nextId = 0;
  return {
    now: () => now,
    setTimeout: (callback, ms) => {
      nextId += 1;
      timers.push({ at: now + ms, callback, id: nextId });
      return nextId;
    },
    clearTimeout: (handle) => {
      timers = timers.filter((timer) => timer.id !== handle);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        timers = timers.filter((timer) => timer !== due);
        due.callback();
      }
      now = until;
    },
  };
}

describe('settle timers', () => {
  it('fire once a lineage has been quiet for settleMs', () => {
    const timers = manualTimers();
    const fired: string[] = [];
    const settle = new SettleTimers(150, 2000, (name) => fired.push(name), timers);
    settle.touch('a');
    timers.advance(100);
    settle.touch('a');
    timers.advance(100);
    expect(fired).toEqual([]);
    timers.advance(50);
    expect(fired).toEqual(['a']);
    expect(settle.size).toBe(0);
  });

  it('fire at the latest maxWaitMs after the first event, however busy the lineage', () => {
    const timers = manualTimers();
    const fired: number[] = [];
    const settle = new SettleTimers(150, 500, () => fired.push(timers.now()), timers);
    for (let at = 0; at < 1000; at += 100) {
      settle.touch('busy');
      timers.advance(100);
    }
    expect(fired[0]).toBe(500);
  });

  it('keep lineages apart', () => {
    const timers = manualTimers();
    const fired: string[] = [];
    const settle = new SettleTimers(150, 2000, (name) => fired.push(name), timers);
    settle.touch('a');
    timers.advance(100);
    settle.touch('b');
    timers.advance(60);
    expect(fired).toEqual(['a']);
    timers.advance(100);
    expect(fired).toEqual(['a', 'b']);
  });
});

describe('retry policy', () => {
  it.each([
    ['not-ready', 1, 250],
    ['not-ready', 3, 1000],
    ['not-ready', 20, 30_000],
    ['failed', 1, 1000],
    ['failed', 4, 8000],
    ['failed', 30, 300_000],
  ] as const)('%s, attempt %i: retry after %i ms', (outcome, attempt, delayMs) => {
    expect(retryAfter(outcome, { attempt })).toEqual({ kind: 'retry', delayMs });
  });

  it.each([
    [1, 60_000],
    [3, 240_000],
    [20, 3_600_000],
  ] as const)('held, attempt %i: looked at again after %i ms', (attempt, delayMs) => {
    expect(retryAfter('held', { attempt })).toEqual({ kind: 'retry', delayMs });
  });

  it.each(['deployed', 'added', 'unchanged'] as const)('%s: done', (outcome) => {
    expect(retryAfter(outcome, { attempt: 1 })).toEqual({ kind: 'done' });
  });
});
