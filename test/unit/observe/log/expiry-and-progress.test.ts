import { jest } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { closeLogger, createLogger } from '../../../../src/observe/log/create-logger.js';
import { ExpiryWarnings } from '../../../../src/observe/log/expiry-warnings.js';
import { LoggedProgress } from '../../../../src/observe/log/progress.js';
import type { Outcome } from '../../../../src/core/outcome.js';

const DAY = 86_400_000;

async function journald(write: (log: ReturnType<typeof createLogger>) => void | Promise<void>): Promise<string[]> {
  const stream = new PassThrough();
  let output = '';
  stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const log = createLogger({ level: 'info', format: 'journald', stream });
  await write(log);
  await closeLogger(log);
  return output.trimEnd().split('\n').filter(Boolean);
}

describe('expiry in the log', () => {
  const served = (days: number, now: number): Outcome => ({ lineage: 'site', target: 'edge', kind: 'unchanged', notAfter: new Date(now + days * DAY + 3_600_000), durationMs: 1 });

  it('a warning within warnDays, once a day; an error at once when it becomes critical', async () => {
    let now = Date.UTC(2026, 11, 1);
    const lines = await journald((log) => {
      const expiry = new ExpiryWarnings(log, { warnDays: 14, criticalDays: 7 }, () => now);
      expiry.observe(served(30, now));
      expiry.observe(served(10, now));
      now += 3_600_000;
      expiry.observe(served(10, now));
      now += DAY;
      expiry.observe(served(9, now));
      now += 3_600_000;
      expiry.observe(served(6, now));
      expiry.observe({ ...served(3, now), kind: 'failed' });
    });
    expect(lines).toEqual([
      expect.stringMatching(/^<4>certificate expires in 10 days lineage=site target=edge not_after=\S+ days_left=10$/),
      expect.stringMatching(/^<4>certificate expires in 9 days /),
      expect.stringMatching(/^<3>certificate expires in 6 days lineage=site/),
    ]);
  });
});

describe('progress of a long sync', () => {
  // Fake timers only while the progress runs: closing the logger waits on real ones.

  it('N/M done, the rate and an ETA every few seconds, in the log and as the service status', async () => {
    const statuses: string[] = [];
    const lines = await journald((log) => {
      jest.useFakeTimers();
      const progress = new LoggedProgress(log, 'sync', { status: (text) => statuses.push(text) }, 5000, 100);
      progress.start(1000);
      progress.done(250);
      jest.advanceTimersByTime(5000);
      progress.done(250);
      jest.advanceTimersByTime(5000);
      progress.finish();
      jest.advanceTimersByTime(20_000);
      jest.useRealTimers();
    });
    expect(lines).toEqual([
      '<6>sync: starting certificates=1000',
      '<6>sync: 250/1000 done, 50/s, ETA 15 s done=250 certificates=1000 rate_per_s=50 eta_s=15',
      '<6>sync: 500/1000 done, 50/s, ETA 10 s done=500 certificates=1000 rate_per_s=50 eta_s=10',
    ]);
    expect(statuses).toEqual(['sync: 0/1000', 'sync: 250/1000 done, 50/s, ETA 15 s', 'sync: 500/1000 done, 50/s, ETA 10 s']);
  });

  it('a short pass says nothing', async () => {
    const lines = await journald((log) => {
      jest.useFakeTimers();
      const progress = new LoggedProgress(log, 'sync', undefined, 5000, 100);
      progress.start(10);
      jest.advanceTimersByTime(10_000);
      progress.finish();
      jest.useRealTimers();
    });
    expect(lines).toEqual([]);
  });
});
