import { existsSync, readFileSync } from 'node:fs';
// @ts-expect-error: a plain ES module shared with jest's global setup.
import { HOST_PATHS, SNAPSHOT_FILE, snapshotHostPaths } from '../host-paths.mjs';

// Runs after every other suite (test/sequencer.mjs): a test that wrote to the host's own hotcert paths fails here.
describe('the test run left the host\'s own paths alone', () => {
  it.each(HOST_PATHS as string[])('%s is as it was before the first suite', (path: string) => {
    if (!existsSync(SNAPSHOT_FILE)) throw new Error(`${SNAPSHOT_FILE} is missing: run the suite through test/run (jest's globalSetup writes it)`);
    const before = JSON.parse(readFileSync(SNAPSHOT_FILE, 'utf8')) as Record<string, string>;
    const now = snapshotHostPaths() as Record<string, string>;
    const pick = (snapshot: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(snapshot).filter(([key]) => key === path || key.startsWith(`${path}/`)));
    expect(pick(now)).toEqual(pick(before));
  });
});
