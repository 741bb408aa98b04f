import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { RuntimeCommandError } from '../../../../src/errors.js';
import { closeLogger, createLogger, resolveLogFormat } from '../../../../src/observe/log/create-logger.js';

async function capture(format: 'journald' | 'json' | 'text', write: (log: ReturnType<typeof createLogger>) => void): Promise<string> {
  const stream = new PassThrough();
  let output = '';
  stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const log = createLogger({ level: 'debug', format, stream });
  write(log);
  await closeLogger(log);
  return output;
}

const FAKE_KEY = ['-----BEGIN PRIVATE KEY-----', 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg', '-----END PRIVATE KEY-----'].join('\n');

describe('logging', () => {
  it('journald: every line carries the priority prefix, stack traces too', async () => {
    const output = await capture('journald', (log) => {
      log.info('bundle deployed', { lineage: 'example.com', target: 'local', serial: 'ABC' });
      log.warn('retrying');
      log.error('hotcert failed', { error: new Error('boom') });
    });
    const lines = output.trimEnd().split('\n');
    expect(lines[0]).toBe('<6>bundle deployed lineage=example.com target=local serial=ABC');
    expect(lines[1]).toBe('<4>retrying');
    expect(lines[2]).toBe('<3>hotcert failed error_code=UNEXPECTED error=boom');
    expect(lines.length).toBeGreaterThan(4);
    for (const line of lines) expect(line).toMatch(/^<[0-7]>/);
  });

  it('json: one object per line with snake_case fields and the cause chain', async () => {
    const cause = new Error('connect ENOENT');
    const output = await capture('json', (log) =>
      log.error('deploy failed', { error: new RuntimeCommandError('set ssl cert refused', 'Can\'t load the payload', { target: 'edge' }, { cause }) }),
    );
    const record = JSON.parse(output.trim());
    expect(record).toMatchObject({
      level: 'error',
      message: 'deploy failed',
      error_code: 'RUNTIME_COMMAND_FAILED',
      error: 'set ssl cert refused: connect ENOENT',
      target: 'edge',
    });
    expect(record.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('text: timestamp, level and quoted values where needed', async () => {
    const output = await capture('text', (log) => log.debug('plan', { reason: 'two words' }));
    expect(output).toMatch(/^\S+Z debug plan reason="two words"\n$/);
  });

  it('never writes a PEM block, whether in the message, a field or an error', async () => {
    const output = await capture('json', (log) => {
      log.info(`payload ${FAKE_KEY}`);
      log.info('field', { detail: FAKE_KEY });
      log.error('failed', { error: new Error(`library echoed ${FAKE_KEY}`) });
    });
    expect(output).not.toContain('PRIVATE KEY');
    expect(output).not.toContain('MIGHAgEAMBMG');
    expect(output).toContain('[redacted PEM block]');
  });

  it('respects the level', async () => {
    const stream = new PassThrough();
    let output = '';
    stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const log = createLogger({ level: 'warn', format: 'text', stream });
    log.info('hidden');
    log.warn('shown');
    await closeLogger(log);
    expect(output).not.toContain('hidden');
    expect(output).toContain('shown');
  });

  describe('auto format', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'hotcert-log-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('picks journald only when JOURNAL_STREAM is the stream\'s own device:inode', async () => {
      const file = join(dir, 'stream');
      const handle = await open(file, 'w');
      try {
        const info = await stat(file);
        expect(resolveLogFormat('auto', handle.fd, { JOURNAL_STREAM: `${info.dev}:${info.ino}` })).toBe('journald');
        expect(resolveLogFormat('auto', handle.fd, { JOURNAL_STREAM: `${info.dev}:${info.ino + 1}` })).toBe('text');
        expect(resolveLogFormat('auto', handle.fd, {})).toBe('text');
        expect(resolveLogFormat('json', handle.fd, { JOURNAL_STREAM: `${info.dev}:${info.ino}` })).toBe('json');
      } finally {
        await handle.close();
      }
    });
  });
});
