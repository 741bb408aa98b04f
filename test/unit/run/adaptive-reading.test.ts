import type { OutcomeKind } from '../../../src/core/outcome.js';
import { AdaptiveReading } from '../../../src/run/adaptive-reading.js';
import type { DeployResult } from '../../../src/run/reconciler.js';

function outcomes(...kinds: OutcomeKind[]): DeployResult[] {
  return kinds.map((kind, index) => ({ lineage: 'example.com', target: `haproxy-${index}`, kind, durationMs: 1 }));
}

describe('AdaptiveReading', () => {
  it('takes the quick look first until four certificates in a row turn out changed, then reads in full', () => {
    const reading = new AdaptiveReading();
    const seen = [];
    for (let index = 0; index < 6; index += 1) {
      seen.push(reading.next());
      reading.observe(outcomes('deployed'));
    }
    expect(seen).toEqual(['quick-first', 'quick-first', 'quick-first', 'quick-first', 'full', 'full']);
  });

  it('goes back to the quick look at the first certificate found unchanged and deployed nowhere', () => {
    const reading = new AdaptiveReading();
    for (let index = 0; index < 4; index += 1) reading.observe(outcomes('added', 'added'));
    expect(reading.next()).toBe('full');
    reading.observe(outcomes('unchanged', 'deployed'));
    expect(reading.next()).toBe('full');
    reading.observe(outcomes('unchanged', 'failed'));
    expect(reading.next()).toBe('quick-first');
  });

  it('counts neither way what says nothing of a change: failures on every target, not ready, held, no target', () => {
    const reading = new AdaptiveReading();
    for (let index = 0; index < 3; index += 1) reading.observe(outcomes('deployed', 'failed'));
    reading.observe(outcomes('failed', 'failed'));
    reading.observe(outcomes('not-ready'));
    reading.observe(outcomes('held'));
    reading.observe([]);
    expect(reading.next()).toBe('quick-first');
    reading.observe(outcomes('reloaded'));
    expect(reading.next()).toBe('full');
  });
});
