import { RuntimeConnectionClosedError, RuntimeTimeoutError, RuntimeTransportError } from '../errors.js';
import type { RuntimeEndpoint } from './runtime-address.js';
import { socketChannelOpener, type ChannelOpener, type RuntimeChannel } from './runtime-channel.js';
import { frameRequest, PROMPT, unframePromptReply } from './runtime-framing.js';
import { parseShowInfo } from './replies.js';
import type { RuntimeRequest, RuntimeTransport, SendOptions } from './runtime-transport.js';
import { SocketTransport } from './socket-transport.js';

/** A session idle this long may be closed by HAProxy at any moment (its `stats timeout` is at least a second). */
const IDLE_RETRY_MS = 1000;

/**
 * One long-lived runtime API connection in `prompt` mode, for a target's serial slot: HAProxy answers each command
 * and then prints `> `, so commands follow one another on one connection without HAProxy accepting a new one each
 * time. A batch of commands goes in one write, each line (and payload) whole, and HAProxy answers each in turn
 * with its own prompt; the next batch is written once the last prompt of the one before arrived.
 *
 * Two HAProxy behaviours shape it:
 * - `stats timeout` closes an idle connection: a closed session is reopened on the next request.
 * - A connection held across a reload keeps talking to the old worker, whose changes die with it (seen on 2.6.12).
 *   So at most once per `workerCheckMs` the session's worker Pid is compared with the Pid a fresh connection
 *   reaches, and the session is reopened when they differ. Requests with `fresh: true` always use a new connection.
 * - An open CLI session holds a stopping worker: `docker stop` of an HAProxy container waited its whole timeout
 *   and then killed it (seen on 2.6.12), and after a reload the old worker stays until the session ends. So a
 *   session is closed once it was idle for `idleCloseMs`: it serves bursts, not the quiet time between them.
 */
export class PromptTransport implements RuntimeTransport {
  private session: PromptSession | undefined;
  /** Requests take turns: a session carries one at a time, whoever sends them (slot, target checks, status). */
  private turn: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  /**
   * @param open opens the session's stream; `oneShot` carries requests on a fresh connection (`fresh: true`, and
   * the worker check), so that they reach the worker that serves now.
   */
  constructor(
    readonly address: string,
    private readonly open: ChannelOpener,
    private readonly oneShot: RuntimeTransport,
    private readonly timeoutMs: number,
    private readonly workerCheckMs = 1000,
    private readonly idleCloseMs = 500,
  ) {}

  /** A session over a unix or TCP socket (the address looked up on each connect). */
  static overSocket(endpoint: RuntimeEndpoint, timeoutMs: number, workerCheckMs?: number): PromptTransport {
    return new PromptTransport(endpoint.address, socketChannelOpener(endpoint, timeoutMs), new SocketTransport(endpoint, timeoutMs), timeoutMs, workerCheckMs);
  }

  async send(request: RuntimeRequest, options: SendOptions = {}): Promise<string> {
    if (options.fresh) return this.oneShot.send(request);
    return this.withSession((session) => session.send(request));
  }

  async sendBatch(requests: readonly RuntimeRequest[]): Promise<string[]> {
    if (requests.length === 0) return [];
    return this.withSession((session) => session.sendBatch(requests));
  }

  // HAProxy closes a session that stayed idle for `stats timeout`; a request written as it does so fails with the
  // connection closed. HAProxy only closes a session that sent it nothing, so such a request was never run and is
  // sent once more on a new session. A request on a busy session that fails this way is reported as it is.
  private withSession<T>(request: (session: PromptSession) => Promise<T>): Promise<T> {
    clearTimeout(this.idleTimer);
    this.waiting += 1;
    const result = this.turn.then(() => this.onSession(request));
    this.turn = result.then(
      () => this.afterRequest(),
      () => this.afterRequest(),
    );
    return result;
  }

  private afterRequest(): void {
    this.waiting -= 1;
    if (this.waiting > 0 || !this.session) return;
    this.idleTimer = setTimeout(() => {
      if (this.waiting === 0) this.close();
    }, this.idleCloseMs);
    this.idleTimer.unref();
  }

  private async onSession<T>(request: (session: PromptSession) => Promise<T>): Promise<T> {
    const session = await this.currentSession();
    const idleMs = session.idleMs();
    try {
      return await request(session);
    } catch (error) {
      if (!(error instanceof RuntimeConnectionClosedError) || idleMs < IDLE_RETRY_MS) throw error;
      return request(await this.currentSession());
    }
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private async currentSession(): Promise<PromptSession> {
    let session = this.session;
    if (session && !session.isOpen()) session = undefined;
    if (session && Date.now() - session.workerCheckedAt >= this.workerCheckMs) {
      const freshPid = workerPid(await this.oneShot.send({ line: 'show info' }));
      if (freshPid !== session.workerPid) {
        session.close();
        session = undefined;
      } else {
        session.workerCheckedAt = Date.now();
      }
    }
    if (!session) {
      session = await PromptSession.open(await this.open(), this.address, this.timeoutMs);
      this.session = session;
    }
    return session;
  }
}

function workerPid(showInfo: string): number | undefined {
  const pid = Number(parseShowInfo(showInfo).get('Pid'));
  return Number.isInteger(pid) ? pid : undefined;
}

class PromptSession {
  workerPid: number | undefined;
  workerCheckedAt = Date.now();
  private lastActivityAt = Date.now();
  private buffer = '';
  private pending:
    | { resolve: (replies: string[]) => void; reject: (error: Error) => void; timer: NodeJS.Timeout; expected: number; replies: string[] }
    | undefined;
  private open = true;

  private constructor(
    private readonly channel: RuntimeChannel,
    private readonly address: string,
    private readonly timeoutMs: number,
  ) {
    channel.listen(
      (text) => this.receive(text),
      (reason) => this.fail(reason),
    );
  }

  static async open(channel: RuntimeChannel, address: string, timeoutMs: number): Promise<PromptSession> {
    const session = new PromptSession(channel, address, timeoutMs);
    await session.send({ line: 'prompt' });
    session.workerPid = workerPid(await session.send({ line: 'show info' }));
    return session;
  }

  isOpen(): boolean {
    return this.open;
  }

  idleMs(): number {
    return Date.now() - this.lastActivityAt;
  }

  async send(request: RuntimeRequest): Promise<string> {
    return (await this.exchange(frameRequest(request), 1, request.line))[0] as string;
  }

  /** One line (and payload) per request in one write: HAProxy answers each with its own prompt, in order. */
  sendBatch(requests: readonly RuntimeRequest[]): Promise<string[]> {
    return this.exchange(requests.map(frameRequest).join(''), requests.length, requests[0]?.line ?? '');
  }

  private exchange(bytes: string, expected: number, firstLine: string): Promise<string[]> {
    if (!this.open) return Promise.reject(new RuntimeTransportError(`runtime API ${this.address} connection is closed`, { runtime: this.address }));
    if (this.pending) return Promise.reject(new Error('a prompt session runs one request at a time'));
    const verb = firstLine.split(' ').slice(0, 3).join(' ');
    return new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new RuntimeTimeoutError(`runtime API ${this.address} did not answer "${verb}" within ${this.timeoutMs} ms`, { runtime: this.address }));
      }, this.timeoutMs);
      this.pending = { resolve, reject, timer, expected, replies: [] };
      this.lastActivityAt = Date.now();
      this.channel.write(bytes);
    });
  }

  close(): void {
    this.open = false;
    this.channel.close();
  }

  private receive(text: string): void {
    this.buffer += text;
    const pending = this.pending;
    if (!pending) return;
    for (let end = this.buffer.indexOf(PROMPT); end >= 0 && pending.replies.length < pending.expected; end = this.buffer.indexOf(PROMPT)) {
      pending.replies.push(unframePromptReply(this.buffer.slice(0, end)));
      this.buffer = this.buffer.slice(end + PROMPT.length);
    }
    if (pending.replies.length === pending.expected) {
      this.pending = undefined;
      this.lastActivityAt = Date.now();
      clearTimeout(pending.timer);
      pending.resolve(pending.replies);
    }
  }

  private fail(error: Error): void {
    this.open = false;
    this.channel.close();
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      // What HAProxy said before it broke off (3.4: "The payload is too big...", 2.6: only `+ ` prompts) says why.
      const partial = { replies: [...pending.replies, unframePromptReply(this.buffer)], continuationOnly: /^(\+ )+$/.test(this.buffer.trimEnd() + ' ') };
      if (error instanceof RuntimeConnectionClosedError) pending.reject(new RuntimeConnectionClosedError(error.message, error.subject, { cause: error.cause }, partial));
      else if (error instanceof RuntimeTimeoutError) pending.reject(new RuntimeTimeoutError(error.message, error.subject, { cause: error.cause }, partial));
      else pending.reject(error);
    }
  }
}
