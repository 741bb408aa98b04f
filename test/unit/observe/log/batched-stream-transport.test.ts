import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { closeLogger, createLogger } from '../../../../src/observe/log/create-logger.js';
import { waitFor } from '../../../helpers/wait-for.js';

function captured(flushDelayMs: number): { log: ReturnType<typeof createLogger>; chunks: string[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { log: createLogger({ level: 'debug', format: 'text', stream, flushDelayMs }), chunks };
}

describe('log lines of a burst share one write', () => {
  it('writes the lines logged within the window in one chunk, in order', async () => {
    const { log, chunks } = captured(30);
    for (let index = 0; index < 100; index++) log.info('deployed', { lineage: `lineage${index}` });
    expect(chunks).toEqual([]);
    await waitFor(() => chunks.length > 0, { timeoutMs: 2000, intervalMs: 5, what: 'the batch to be written' });
    expect(chunks).toHaveLength(1);
    const lines = (chunks[0] as string).trimEnd().split('\n');
    expect(lines).toHaveLength(100);
    expect(lines[0]).toContain('lineage=lineage0');
    expect(lines[99]).toContain('lineage=lineage99');
    await closeLogger(log);
  });

  it('writes a warning or an error at once, with the lines that waited before it', () => {
    const { log, chunks } = captured(60_000);
    log.info('first');
    log.error('deploy failed', { lineage: 'a.example' });
    expect(chunks.join('')).toMatch(/info {2}first\n.*error deploy failed lineage=a\.example\n$/s);
  });

  it('writes what waits when the logger is closed', async () => {
    const { log, chunks } = captured(60_000);
    log.info('last words');
    await closeLogger(log);
    expect(chunks.join('')).toContain('last words');
  });

  it('writes each line at once when the window is 0', () => {
    const { log, chunks } = captured(0);
    log.info('one');
    log.info('two');
    expect(chunks).toHaveLength(2);
  });

  it('writes what waits when the process exits before the window ends', () => {
    // The built module (test/run builds before jest): the child runs plain Node, as the daemon does.
    const moduleUrl = new URL('../../../../dist/observe/log/create-logger.js', import.meta.url).href;
    const script = `import { createLogger } from ${JSON.stringify(moduleUrl)};
const log = createLogger({ level: 'info', format: 'text', flushDelayMs: 60000 });
log.info('written at exit', { lineage: 'b.example' });
process.exit(0);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../../../..', import.meta.url)) });
    expect(child.status).toBe(0);
    expect(child.stderr).toContain('written at exit lineage=b.example');
  });
});
