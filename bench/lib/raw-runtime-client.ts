import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TestHaproxy } from '../../test/helpers/haproxy.js';

/**
 * The baseline: what a minimal hand-written client does, one connection in `prompt` mode, each command written once
 * the previous reply's `> ` prompt arrived. No checks beyond HAProxy's own success text.
 */
export class RawRuntimeClient {
  private buffer = '';
  private waiter: ((reply: string) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      if (this.buffer.endsWith('\n> ') && this.waiter) {
        const reply = this.buffer.slice(0, -3).replace(/^(\+ )+/, '');
        this.buffer = '';
        const waiter = this.waiter;
        this.waiter = undefined;
        waiter(reply);
      }
    });
  }

  static async open(socketPath: string): Promise<RawRuntimeClient> {
    const socket = connect({ path: socketPath });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const client = new RawRuntimeClient(socket);
    await client.command('prompt');
    return client;
  }

  command(line: string, payload?: string): Promise<string> {
    const reply = new Promise<string>((resolve) => (this.waiter = resolve));
    this.socket.write(payload === undefined ? `${line}\n` : `${line} <<\n${payload.trimEnd()}\n\n`);
    return reply;
  }

  async expect(line: string, success: RegExp, payload?: string): Promise<void> {
    const reply = await this.command(line, payload);
    if (!success.test(reply)) throw new Error(`${line.split(' ').slice(0, 3).join(' ')}: ${reply.split('\n')[0]}`);
  }

  close(): void {
    this.socket.end();
  }
}

/** A synthetic lineage's bundle at one version, as the raw client sends it: fullchain + key, read from the archive. */
export async function bundleOf(configDir: string, name: string, version: number): Promise<string> {
  const archive = join(configDir, 'archive', name);
  return (await readFile(join(archive, `fullchain${version}.pem`), 'utf8')) + (await readFile(join(archive, `privkey${version}.pem`), 'utf8'));
}

/**
 * The raw client's run over N certificates, one connection: `set` + `commit` each (renewals), or `new` + `set` +
 * `commit` + `add ssl crt-list` (adds). @returns its wall time in seconds.
 */
export async function rawRun(haproxy: TestHaproxy, names: readonly string[], bundles: readonly string[], phase: 'add' | 'renew'): Promise<number> {
  const client = await RawRuntimeClient.open(haproxy.socketPath);
  const started = process.hrtime.bigint();
  for (const [index, name] of names.entries()) {
    const path = `${haproxy.bundlesDir}/${name}.pem`;
    if (phase === 'add') await client.expect(`new ssl cert ${path}`, /New empty certificate store/);
    await client.expect(`set ssl cert ${path}`, /Transaction created/, bundles[index]);
    await client.expect(`commit ssl cert ${path}`, /Success!/);
    if (phase === 'add') await client.expect(`add ssl crt-list ${haproxy.crtListPath}`, /Success!/, path);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  client.close();
  return seconds;
}
