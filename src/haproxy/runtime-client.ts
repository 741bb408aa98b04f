import { CommandTooLargeError, RuntimeCommandError, RuntimeConnectionClosedError, RuntimeTimeoutError } from '../errors.js';
import {
  LOCKED_REPLY,
  isAbortReply,
  isAddCrtListSuccess,
  isCommitSuccess,
  isNewCertReply,
  parseCertStoreDetails,
  parseCrtListEntries,
  parseStoreList,
  parseSetCertReply,
  parseTransactionProbe,
  TRANSACTION_PROBE_PATH,
  type CertStoreDetails,
} from './cert-replies.js';
import { parseCliLevel, parseCrtListNames, parseShowInfo, refusalOf, type CliLevel } from './replies.js';
import { dialectFor, type Dialect } from './dialect.js';
import type { RuntimeRequest, RuntimeTransport, SendOptions } from './runtime-transport.js';

export interface HaproxyInfo {
  readonly version: string;
  readonly pid: number;
  readonly uptimeSec: number;
}

// Paths and crt-list names go into command lines, where `;` starts another command and a space another argument.
// Config and lineage names are validated long before; this is the last line of defence.
const SAFE_ARGUMENT = /^\*?\/[A-Za-z0-9._\/-]+(:\d+)?$/;

export interface RuntimeClientOptions {
  /** Attempts while HAProxy answers "Operations on certificates are currently locked!". */
  readonly lockedAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What `set ssl cert` + `show ssl cert *<path>` found: the transaction HAProxy names, and what it holds. */
export interface SetResult {
  readonly opened: { readonly created: boolean; readonly path: string };
  readonly pending: CertStoreDetails | undefined;
}

/** A set's outcome; `store` says what the `new ssl cert` sent before it did, when one was. */
export type SetAnswer =
  | { readonly kind: 'answered'; readonly result: SetResult; readonly store?: 'created' | 'exists' }
  | { readonly kind: 'failed'; readonly error: Error; readonly store?: 'created' | 'exists' };

/** A set to send: `opens` 'store' sends `new ssl cert` first (a first issuance), 'transaction' only the set. */
export interface SetRequest {
  readonly path: string;
  readonly bundle: string;
  readonly opens: 'store' | 'transaction';
}

/** A set to send ahead, with another deploy's commit; `answer` is what came of it. */
export interface SentAhead extends SetRequest {
  answer: SetAnswer | undefined;
}

/** A crt-list line to add in the commit's write, once the commit made the store it names non-empty. */
export interface ListedWithCommit {
  readonly list: string;
  readonly line: string;
}

/**
 * What came of a line sent with a commit: added; refused by HAProxy; or not tried (HAProxy's certificate lock was
 * held by another session: add it on its own).
 */
export type ListedOutcome = { readonly kind: 'added' } | { readonly kind: 'refused'; readonly error: RuntimeCommandError } | { readonly kind: 'not-tried' };

export interface CommitExtras {
  /** Paths whose `show ssl cert` rides along (reads other deploys wait for). */
  readonly riders?: readonly string[];
  readonly listLine?: ListedWithCommit;
  readonly ahead?: SentAhead;
}

export interface CommitResult {
  /** The store afterwards (after the line, when one was sent). */
  readonly details: CertStoreDetails | undefined;
  /** Whether a transaction is open right after the commit; undefined when the probe's reply was not understood. */
  readonly openTransaction: string | null | undefined;
  /** Each rider's store: 'unanswered' when the reply is not a store's details or "not found". */
  readonly shown: (CertStoreDetails | undefined | 'unanswered')[];
  readonly listed?: ListedOutcome;
}

function setAndShowRequests(path: string, bundle: string): RuntimeRequest[] {
  return [{ line: `set ssl cert ${safe(path)}`, payload: bundle }, { line: `show ssl cert *${safe(path)}` }];
}

function setRequests(set: SetRequest): RuntimeRequest[] {
  return [...(set.opens === 'store' ? [{ line: `new ssl cert ${safe(set.path)}` }] : []), ...setAndShowRequests(set.path, set.bundle)];
}

/**
 * Typed runtime API commands for one target, over whichever transport reaches it. Every reply is matched against
 * HAProxy's exact text; anything else is a RuntimeCommandError carrying HAProxy's reply (never the payload).
 */
export class RuntimeClient {
  private readonly lockedAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private knownDialect: Dialect | undefined;

  constructor(
    readonly target: string,
    private readonly transport: RuntimeTransport,
    options: RuntimeClientOptions = {},
  ) {
    this.lockedAttempts = options.lockedAttempts ?? 8;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get address(): string {
    return this.transport.address;
  }

  /** The HAProxy version last seen on this target (from `show info`), for messages and limits. */
  get dialect(): Dialect | undefined {
    return this.knownDialect;
  }

  close(): void {
    this.transport.close?.();
  }

  /** With `fresh`, on a new connection: the worker that serves now, even when a session to an older one is open. */
  async showInfo(options: { fresh?: boolean } = {}): Promise<HaproxyInfo> {
    const reply = await this.send({ line: 'show info' }, { fresh: options.fresh ?? false });
    const fields = parseShowInfo(reply);
    const version = fields.get('Version');
    if (!version) throw this.refused('show info', reply);
    this.knownDialect = dialectFor(version);
    return { version, pid: Number(fields.get('Pid') ?? NaN), uptimeSec: Number(fields.get('Uptime_sec') ?? NaN) };
  }

  async showCliLevel(): Promise<CliLevel> {
    const reply = await this.send({ line: 'show cli level' });
    const level = parseCliLevel(reply);
    if (!level) throw this.refused('show cli level', reply);
    return level;
  }

  /** Every crt-list file and `crt` directory HAProxy loaded, as HAProxy names them. */
  async showCrtLists(): Promise<string[]> {
    const reply = await this.send({ line: 'show ssl crt-list' });
    if (refusalOf(reply)) throw this.refused('show ssl crt-list', reply);
    return parseCrtListNames(reply);
  }

  /** The entries of one crt-list with their line numbers. */
  async showCrtListEntries(list: string): Promise<ReturnType<typeof parseCrtListEntries>> {
    const reply = await this.send({ line: `show ssl crt-list -n ${safe(list)}` });
    if (refusalOf(reply) || reply.startsWith("didn't find")) throw this.refused('show ssl crt-list -n', reply, list);
    return parseCrtListEntries(reply);
  }

  /** The path of the one open certificate transaction, if any (see TRANSACTION_PROBE_PATH). */
  async openTransaction(): Promise<string | undefined> {
    const reply = await this.send({ line: `abort ssl cert ${TRANSACTION_PROBE_PATH}` });
    const open = parseTransactionProbe(reply);
    if (open === undefined) throw this.refused('abort ssl cert', reply, TRANSACTION_PROBE_PATH);
    return open ?? undefined;
  }

  /** The path of every certificate store HAProxy holds (`show ssl cert` without argument), transaction aside. */
  async listCertStores(): Promise<string[]> {
    const reply = await this.send({ line: 'show ssl cert' });
    if (refusalOf(reply)) throw this.refused('show ssl cert', reply);
    return parseStoreList(reply);
  }

  /** A store's details, or those of the open transaction with `{ transaction: true }`; undefined when unknown. */
  async showCert(path: string, options: { transaction?: boolean } = {}): Promise<CertStoreDetails | undefined> {
    const reply = await this.send({ line: `show ssl cert ${options.transaction ? '*' : ''}${safe(path)}` });
    if (refusalOf(reply)) throw this.refused('show ssl cert', reply, path);
    return parseCertStoreDetails(reply);
  }

  /**
   * Details of many stores in as few round trips as the transport allows; undefined for stores HAProxy does not
   * have. Batches stay far below tune.bufsize (a command line must fit one buffer).
   */
  async showCerts(paths: readonly string[]): Promise<(CertStoreDetails | undefined)[]> {
    const results: (CertStoreDetails | undefined)[] = [];
    for (let start = 0; start < paths.length; ) {
      const batch: RuntimeRequest[] = [];
      let bytes = 0;
      while (start < paths.length && (batch.length === 0 || bytes + (paths[start] as string).length < 6000)) {
        bytes += (paths[start] as string).length + 16;
        batch.push({ line: `show ssl cert ${safe(paths[start] as string)}` });
        start += 1;
      }
      const replies = await this.sendBatch(batch);
      replies.forEach((reply, index) => {
        if (refusalOf(reply)) throw this.refused('show ssl cert', reply, paths[results.length + index]);
      });
      results.push(...replies.map(parseCertStoreDetails));
    }
    return results;
  }

  /**
   * `commit ssl cert` and, in the same round trip: the line for the store (`add ssl crt-list`, for a store made
   * empty in this deploy: HAProxy refuses to list an empty store, "certificate '…' is empty!", so a commit that did
   * not apply cannot get a line listed), `show ssl cert` of the result, the transaction probe, `show ssl cert` of
   * each rider, and the next deploy's set sent ahead (its answer is put on `ahead`, whatever the commit's outcome).
   * @throws the commit's refusal, or a transport error (then nothing is known of any of it).
   */
  async commitCertAndShow(path: string, extras: CommitExtras = {}): Promise<CommitResult> {
    const { riders = [], listLine, ahead } = extras;
    const requests = [
      { line: `commit ssl cert ${safe(path)}` },
      ...(listLine ? [{ line: `add ssl crt-list ${safe(listLine.list)}`, payload: listLine.line }] : []),
      { line: `show ssl cert ${safe(path)}` },
      { line: `abort ssl cert ${TRANSACTION_PROBE_PATH}` },
      ...riders.map((rider) => ({ line: `show ssl cert ${safe(rider)}` })),
      ...(ahead ? setRequests(ahead) : []),
    ];
    let replies: string[];
    try {
      // Only the commit's own "locked" sends it again: after a commit that went through, a repeat finds no transaction.
      replies = await this.sendBatch(requests, 'when-first-locked');
    } catch (error) {
      if (ahead) ahead.answer = { kind: 'failed', error: error as Error };
      throw error;
    }
    const [commit = '', ...after] = replies;
    const added = listLine ? (after.shift() ?? '') : '';
    const [show = '', probe = '', ...rest] = after;
    if (ahead) ahead.answer = this.setAnswerOf(ahead, rest.slice(riders.length));
    if (!isCommitSuccess(commit, path)) throw this.refused('commit ssl cert', commit, path);
    const shown = riders.map((_, index) => {
      const reply = rest[index];
      return reply === undefined || refusalOf(reply) || reply.includes(LOCKED_REPLY) ? 'unanswered' : parseCertStoreDetails(reply);
    });
    const result = { details: parseCertStoreDetails(show), openTransaction: parseTransactionProbe(probe), shown };
    if (!listLine) return result;
    if (isAddCrtListSuccess(added)) return { ...result, listed: { kind: 'added' } };
    if (added.includes(LOCKED_REPLY)) return { ...result, listed: { kind: 'not-tried' } };
    return { ...result, listed: { kind: 'refused', error: this.refused('add ssl crt-list', added, listLine.list) } };
  }

  async newCert(path: string): Promise<'created' | 'exists'> {
    const reply = await this.send({ line: `new ssl cert ${safe(path)}` });
    const result = isNewCertReply(reply, path);
    if (!result) throw this.refused('new ssl cert', reply, path);
    return result;
  }

  /**
   * Opens (or updates) the transaction for `path` with `bundle`. Returns the path HAProxy names in its reply, which
   * the caller must compare with its own: HAProxy 2.6 puts the payload into whatever transaction is open.
   */
  async setCert(path: string, bundle: string): Promise<{ created: boolean; path: string }> {
    const reply = await this.send({ line: `set ssl cert ${safe(path)}`, payload: bundle }).catch((error: unknown) => {
      if (error instanceof RuntimeConnectionClosedError) return '';
      throw error;
    });
    const result = parseSetCertReply(reply);
    if (result) return result;
    if (reply === '') throw this.tooLarge(path, Buffer.byteLength(`set ssl cert ${path} <<\n${bundle}\n`), 'HAProxy closed the connection without a reply');
    throw this.refused('set ssl cert', reply, path);
  }

  /**
   * `set ssl cert` and, in the same write, `show ssl cert *<path>`: the path HAProxy says the transaction is about
   * (HAProxy 2.6 puts a payload into whatever transaction is open, so the caller compares it with its own), and what
   * the transaction holds right after the set, one round trip instead of two.
   */
  async setCertAndShowTransaction(path: string, bundle: string): Promise<SetResult> {
    let replies: string[];
    try {
      replies = await this.sendBatch(setAndShowRequests(path, bundle));
    } catch (error) {
      throw this.setFailure(path, bundle, error);
    }
    const answer = this.setAnswer(path, replies);
    if (answer.kind === 'failed') throw answer.error;
    return answer.result;
  }

  /**
   * `new ssl cert`, then `set ssl cert` and `show ssl cert *<path>` in the same write: a new store and its
   * transaction in one round trip. Only for a set of a size the target took before (a set too large breaks the
   * session). `created` is false when the store existed already.
   */
  async newCertAndSet(path: string, bundle: string): Promise<SetResult & { readonly created: boolean }> {
    const request = { path, bundle, opens: 'store' } as const;
    const answer = this.setAnswerOf(request, await this.sendBatch(setRequests(request), 'when-first-locked'));
    if (answer.kind === 'failed') throw answer.error;
    return { ...answer.result, created: answer.store === 'created' };
  }

  private setAnswer(path: string, [set = '', show = '']: readonly string[]): SetAnswer {
    const opened = parseSetCertReply(set);
    if (!opened) return { kind: 'failed', error: this.refused('set ssl cert', set, path) };
    return { kind: 'answered', result: { opened, pending: parseCertStoreDetails(show) } };
  }

  private setAnswerOf(set: SetRequest, replies: readonly string[]): SetAnswer {
    if (set.opens === 'transaction') return this.setAnswer(set.path, replies);
    const [made = '', ...rest] = replies;
    const store = isNewCertReply(made, set.path);
    if (!store) return { kind: 'failed', error: this.refused('new ssl cert', made, set.path) };
    return { ...this.setAnswer(set.path, rest), store };
  }

  private setFailure(path: string, bundle: string, error: unknown): Error {
    const bytes = Buffer.byteLength(`set ssl cert ${path} <<\n${bundle}\n`);
    // HAProxy 3.4 says why before it closes ("The payload is too big. Please change 'tune.cli.max-payload-size'…").
    const said = error instanceof RuntimeConnectionClosedError ? error.partial.replies[0] : undefined;
    // 3.0 and 3.2 say "The command (line) is too big for the buffer size" before closing, 3.4 "The payload is too big".
    if (said && /payload is too big|too big for the buffer size/i.test(said)) return this.tooLarge(path, bytes, `HAProxy refused it: ${said.trim()}`, error as Error);
    if (said && !parseSetCertReply(said)) return this.refused('set ssl cert', said, path);
    if (error instanceof RuntimeConnectionClosedError && error.partial.replies.every((reply) => reply === '')) {
      return this.tooLarge(path, bytes, 'HAProxy closed the connection without a reply', error);
    }
    // 2.6.12 acknowledged every payload line and then never answered; the next such command crashed it.
    if (error instanceof RuntimeTimeoutError && error.partial.continuationOnly) return this.tooLarge(path, bytes, 'HAProxy took the payload\'s lines and never answered', error);
    return error as Error;
  }

  async abortCert(path: string): Promise<'aborted' | 'no-transaction'> {
    const reply = await this.send({ line: `abort ssl cert ${safe(path)}` });
    const result = isAbortReply(reply);
    if (!result) throw this.refused('abort ssl cert', reply, path);
    return result;
  }

  /** `add ssl crt-list` and, in the same write, `show ssl cert` of the store the line names: what it serves now. */
  async addCrtListLineAndShow(list: string, line: string, path: string): Promise<CertStoreDetails | undefined> {
    const [added = '', show = ''] = await this.sendBatch([{ line: `add ssl crt-list ${safe(list)}`, payload: line }, { line: `show ssl cert ${safe(path)}` }], 'when-first-locked');
    if (!isAddCrtListSuccess(added)) throw this.refused('add ssl crt-list', added, list);
    return parseCertStoreDetails(show);
  }

  /** Adds one line (`<path> [options] filters`) to a crt-list HAProxy loaded. */
  async addCrtListLine(list: string, line: string): Promise<void> {
    const reply = await this.send({ line: `add ssl crt-list ${safe(list)}`, payload: line });
    if (!isAddCrtListSuccess(reply)) throw this.refused('add ssl crt-list', reply, list);
  }

  /** Deletes one entry, `<path>` or `<path>:<line>` when the path appears more than once. */
  async delCrtListEntry(list: string, entry: string): Promise<void> {
    const reply = await this.send({ line: `del ssl crt-list ${safe(list)} ${safe(entry)}` });
    if (!/^Entry '.*' deleted in crtlist '.*'!$/.test(reply)) throw this.refused('del ssl crt-list', reply, list);
  }

  /** Deletes a store that no crt-list uses any more. */
  async delCert(path: string): Promise<void> {
    const reply = await this.send({ line: `del ssl cert ${safe(path)}` });
    if (reply !== `Certificate '${path}' deleted!`) throw this.refused('del ssl cert', reply, path);
  }

  // "Operations on certificates are currently locked!" means another CLI session holds HAProxy's certificate lock
  // for a moment (ssl_ckch.c uses a trylock): retried with a growing pause.
  private async sendBatch(requests: readonly RuntimeRequest[], retry: 'when-any-locked' | 'when-first-locked' = 'when-any-locked'): Promise<string[]> {
    for (let attempt = 1; ; attempt += 1) {
      const replies = await this.transport.sendBatch(requests);
      const locked = retry === 'when-first-locked' ? (replies[0] ?? '').includes(LOCKED_REPLY) : replies.some((reply) => reply.includes(LOCKED_REPLY));
      if (!locked || attempt >= this.lockedAttempts) return replies;
      await this.sleep(Math.min(25 * 2 ** attempt, 2000));
    }
  }

  private async send(request: RuntimeRequest, options?: SendOptions): Promise<string> {
    for (let attempt = 1; ; attempt += 1) {
      const reply = await this.transport.send(request, options);
      if (!reply.includes(LOCKED_REPLY) || attempt >= this.lockedAttempts) return reply;
      await this.sleep(Math.min(25 * 2 ** attempt, 2000));
    }
  }

  // HAProxy 2.6 to 3.3 take a whole command with its payload in one tune.bufsize buffer; 3.4 a payload up to
  // tune.cli.max-payload-size.
  private tooLarge(path: string, bytes: number, what: string, cause?: Error): CommandTooLargeError {
    const limit = this.knownDialect?.commandLimit ?? 'tune.bufsize';
    return new CommandTooLargeError(
      `target ${this.target}${this.versionText()}: "set ssl cert ${path}" is ${bytes} bytes and ${what}: the command is larger than its ${limit}; set targets[].maxCommandBytes below it (hotcert sends this target nothing this large again until it restarts)`,
      bytes,
      { target: this.target, runtime: this.transport.address, file: path },
      cause ? { cause } : undefined,
    );
  }

  private refused(command: string, reply: string, subject?: string): RuntimeCommandError {
    const text = reply.split('\n').filter((line) => line.trim() !== '').join(' / ');
    const level = refusalOf(reply) === 'permission-denied' ? ' (the stats socket needs "level admin")' : '';
    return new RuntimeCommandError(
      `target ${this.target}${this.versionText()}: HAProxy refused "${command}${subject ? ` ${subject}` : ''}": ${text === '' ? '(empty reply)' : text}${level}`,
      reply,
      { target: this.target, runtime: this.transport.address, ...(subject ? { file: subject } : {}) },
    );
  }

  private versionText(): string {
    return this.knownDialect ? ` (HAProxy ${this.knownDialect.version})` : '';
  }
}

function safe(argument: string): string {
  if (!SAFE_ARGUMENT.test(argument)) throw new Error(`refusing to put "${argument}" into a runtime API command`);
  return argument;
}
