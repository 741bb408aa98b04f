import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { TRANSACTION_PROBE_PATH } from '../../src/haproxy/cert-replies.js';
import type { TestHaproxy } from '../../test/helpers/haproxy.js';

/**
 * The baseline: what a minimal hand-written client does, one connection in `prompt` mode (`command`: each command
 * written once the previous reply's `> ` prompt arrived; `commands`: several in one write). No checks beyond
 * HAProxy's own success text.
 */
export class RawRuntimeClient {
  private buffer = '';
  private replies: string[] = [];
  private wanted = 0;
  private waiter: ((replies: string[]) => void) | undefined;
  private reject: ((error: Error) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      // In prompt mode every reply ends with "\n> "; 2.6 to 3.0 also print a "+ " prompt for each payload line
      // before the reply (src/haproxy/runtime-framing.ts).
      for (let end = this.buffer.indexOf('\n> '); end >= 0; end = this.buffer.indexOf('\n> ')) {
        this.replies.push(this.buffer.slice(0, end).replace(/^(\+ )+/, ''));
        this.buffer = this.buffer.slice(end + 3);
      }
      if (this.waiter && this.replies.length >= this.wanted) {
        const [waiter, replies] = [this.waiter, this.replies];
        [this.waiter, this.reject, this.replies] = [undefined, undefined, []];
        waiter(replies);
      }
    });
    // A reply HAProxy never sends (it closed the connection: a command over tune.bufsize) must not hang the run.
    socket.on('close', () => this.waiter && this.failed(new Error('HAProxy closed the runtime API connection before replying')));
    socket.on('error', (error) => this.failed(error));
  }

  private failed(error: Error): void {
    const reject = this.reject;
    [this.waiter, this.reject] = [undefined, undefined];
    reject?.(error);
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
    return this.commands([{ line, ...(payload === undefined ? {} : { payload }) }]).then(([reply = '']) => reply);
  }

  /** Several commands in one write; their replies, in order (HAProxy answers in order in prompt mode). */
  commands(requests: readonly { readonly line: string; readonly payload?: string }[]): Promise<string[]> {
    const replies = new Promise<string[]>((resolve, reject) => ([this.waiter, this.reject] = [resolve, reject]));
    this.wanted = requests.length;
    this.socket.write(requests.map(({ line, payload }) => (payload === undefined ? `${line}\n` : `${line} <<\n${payload.trimEnd()}\n\n`)).join(''));
    return replies;
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

// How far ahead the served-state read that rides along with a commit is: any certificate not yet deployed.
const RIDER_AHEAD = 8;

/**
 * The raw client sending, for N renewals, the runtime commands `hotcert sync` sends for each (not its preflight's
 * nor a retry's), pipelined as it sends them: one write a certificate with the commit, `show ssl cert` of the
 * result, the transaction probe, one served-state read riding along, the next certificate's `set ssl cert` and
 * `show ssl cert *` of its transaction. No file, no parsing beyond the commit's success: what HAProxy's side of
 * hotcert's checks costs, once pipelined: the ceiling for a client that makes them. @returns its wall time in seconds.
 */
export async function rawRunWithHotcertCommands(haproxy: TestHaproxy, names: readonly string[], bundles: readonly string[]): Promise<number> {
  const client = await RawRuntimeClient.open(haproxy.socketPath);
  const paths = names.map((name) => `${haproxy.bundlesDir}/${name}.pem`);
  const setOf = (index: number) => [{ line: `set ssl cert ${paths[index]}`, payload: bundles[index] as string }, { line: `show ssl cert *${paths[index]}` }];
  const started = process.hrtime.bigint();
  await client.commands(setOf(0));
  for (const [index, path] of paths.entries()) {
    const [commit = ''] = await client.commands([
      { line: `commit ssl cert ${path}` },
      { line: `show ssl cert ${path}` },
      { line: `abort ssl cert ${TRANSACTION_PROBE_PATH}` },
      { line: `show ssl cert ${paths[(index + RIDER_AHEAD) % paths.length]}` },
      ...(index + 1 < paths.length ? setOf(index + 1) : []),
    ]);
    if (!/Success!/.test(commit)) throw new Error(`commit ssl cert: ${commit.split('\n')[0]}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  client.close();
  return seconds;
}
