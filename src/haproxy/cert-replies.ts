import { chainLink } from '../core/cert-identity.js';
import type { StoreFacts } from '../core/facts.js';
import { canonicalSerial } from '../core/serial.js';

/**
 * A path that can never be a certificate store: `abort ssl cert` on it aborts nothing, and HAProxy's reply names
 * the open transaction, if any. Unlike `show ssl cert`, whose listing holds HAProxy's certificate lock until the
 * whole reply is consumed, it holds the lock only for the command itself.
 */
export const TRANSACTION_PROBE_PATH = '/.hotcert-transaction-probe.pem';

/** The reply to `abort ssl cert <TRANSACTION_PROBE_PATH>`: `null` for no transaction, the open path, or undefined. */
export function parseTransactionProbe(reply: string): string | null | undefined {
  if (reply.startsWith('No ongoing transaction')) return null;
  return /^The ongoing transaction is about '(.+)' but you are trying to abort/.exec(reply)?.[1];
}

/** `show ssl cert <path>`: what a store (or, with `*<path>`, the open transaction) holds. */
export interface CertStoreDetails {
  readonly path: string;
  /** `Used`: served through a crt-list or bind line; `Unused`: loaded but served nowhere; `Empty`: no certificate. */
  readonly status: 'Used' | 'Unused' | 'Empty' | string;
  readonly serial: string | undefined;
  readonly notBefore: Date | undefined;
  readonly notAfter: Date | undefined;
  readonly sha1Fingerprint: string | undefined;
  /** Each chain certificate as `subject|issuer` (`Chain Subject:` and `Chain Issuer:` lines, in order). */
  readonly chain: readonly string[];
  /** The DNS names of `Subject Alternative Name:`. */
  readonly dnsNames: readonly string[];
}

/** Undefined when HAProxy has no such store ("Can't display the certificate: Not found …"). */
export function parseCertStoreDetails(reply: string): CertStoreDetails | undefined {
  if (!/^Filename: /m.test(reply)) return undefined;
  const fields = new Map<string, string>();
  const chainSubjects: string[] = [];
  const chainIssuers: string[] = [];
  for (const line of reply.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const [key, value] = [line.slice(0, colon), line.slice(colon + 1).trim()];
    if (key === 'Chain Subject') chainSubjects.push(value);
    else if (key === 'Chain Issuer') chainIssuers.push(value);
    else if (!fields.has(key)) fields.set(key, value);
  }
  const date = (text: string | undefined): Date | undefined => {
    if (!text) return undefined;
    const parsed = new Date(text);
    return Number.isNaN(parsed.getTime()) ? undefined : parsed;
  };
  const serial = fields.get('Serial');
  const fingerprint = fields.get('SHA1 FingerPrint');
  return {
    path: ownCopy((fields.get('Filename') ?? '').replace(/^\*/, '')),
    status: ownCopy(fields.get('Status') ?? 'unknown'),
    serial: serial ? ownCopy(canonicalSerial(serial)) : undefined,
    notBefore: date(fields.get('notBefore')),
    notAfter: date(fields.get('notAfter')),
    sha1Fingerprint: fingerprint === undefined ? undefined : ownCopy(fingerprint.toUpperCase()),
    chain: chainSubjects.map((subject, index) => ownCopy(chainLink(subject, chainIssuers[index] ?? ''))),
    dnsNames: (fields.get('Subject Alternative Name') ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => ownCopy(entry.slice(4))),
  };
}

// V8 keeps a substring of 13 characters or more as a slice of the string it was cut from, and a concatenation as a
// pair of pointers: a fingerprint, a DNS name or a chain link kept for the whole run (what each name was last seen
// served with) would keep the whole batch reply it was read from alive. In a 10000-lineage renewal those replies
// were ~9 MB of the 41 MB live heap (a heap snapshot: 6227 "Committing …" replies). A copy through a Buffer owns
// its characters.
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** A store's details as facts for the plan: its status, and the certificate it holds (none when Empty). */
export function storeFacts(details: CertStoreDetails | undefined): StoreFacts | undefined {
  if (!details) return undefined;
  const certificate = details.sha1Fingerprint
    ? {
        identity: { leafSha1: details.sha1Fingerprint, chain: details.chain },
        serial: details.serial,
        notBefore: details.notBefore,
        notAfter: details.notAfter,
        dnsNames: details.dnsNames,
      }
    : undefined;
  return { status: details.status, certificate };
}

/** `set ssl cert`: the path HAProxy says the transaction is about, and whether it was new. */
export function parseSetCertReply(reply: string): { readonly created: boolean; readonly path: string } | undefined {
  const match = /^Transaction (created|updated) for certificate (.+)!$/m.exec(reply);
  return match ? { created: match[1] === 'created', path: match[2] as string } : undefined;
}

export const LOCKED_REPLY = 'Operations on certificates are currently locked!';

/** HAProxy's exact success replies (ssl_ckch.c, ssl_crtlist.c at v2.6). */
export function isCommitSuccess(reply: string, path: string): boolean {
  return reply.startsWith(`Committing ${path}`) && /\nSuccess!$/.test(reply.trimEnd());
}

export function isNewCertReply(reply: string, path: string): 'created' | 'exists' | undefined {
  if (reply === `New empty certificate store '${path}'!`) return 'created';
  if (reply === `Certificate '${path}' already exists!`) return 'exists';
  return undefined;
}

export function isAddCrtListSuccess(reply: string): boolean {
  return reply.startsWith('Inserting certificate') && /\nSuccess!$/.test(reply.trimEnd());
}

export function isAbortReply(reply: string): 'aborted' | 'no-transaction' | undefined {
  if (/^Transaction aborted for certificate '.*'!$/.test(reply)) return 'aborted';
  if (reply.startsWith('No ongoing transaction')) return 'no-transaction';
  return undefined;
}

/** `show ssl crt-list -n <list>`: each entry's path and its line number, for `del ssl crt-list <list> <path>:<n>`. */
export function parseCrtListEntries(reply: string): { readonly path: string; readonly line: number; readonly text: string }[] {
  const entries: { path: string; line: number; text: string }[] = [];
  for (const raw of reply.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const first = line.split(/\s+/)[0] as string;
    const match = /^(.*):(\d+)$/.exec(first);
    if (match) entries.push({ path: match[1] as string, line: Number(match[2]), text: line });
  }
  return entries;
}

/** `show ssl cert` without argument: `# transaction` then `*<path>`, `# filename` then one path a line. */
export function parseStoreList(reply: string): string[] {
  return reply
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('*'));
}
