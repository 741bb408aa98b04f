import { createHash } from 'node:crypto';
import type { PemBlock } from './pem.js';

/**
 * A certificate known by its content, in the terms HAProxy's `show ssl cert` reports it: the leaf by its SHA-1
 * fingerprint, and the chain by each certificate's subject and issuer. The key needs no identity of its own:
 * HAProxy refuses a key that does not match the leaf ("inconsistencies between private key and certificate"), so
 * a served leaf implies its key. Two certificates with the same leaf and another chain are different deployments
 * (a broken chain fixed in a new archive version keeps its leaf).
 */
export interface CertIdentity {
  /** Upper-case hex without separators, as HAProxy prints `SHA1 FingerPrint:`. */
  readonly leafSha1: string;
  /** One entry per chain certificate, in order: `subject|issuer` in HAProxy's one-line form. */
  readonly chain: readonly string[];
}

export function sameIdentity(a: CertIdentity | undefined, b: CertIdentity | undefined): boolean {
  if (!a || !b) return false;
  return a.leafSha1 === b.leafSha1 && a.chain.length === b.chain.length && a.chain.every((link, index) => link === b.chain[index]);
}

export function chainLink(subject: string, issuer: string): string {
  return `${subject}|${issuer}`;
}

/** What differs between two identities, for a message: "leaf", "chain", or nothing. */
export function identityDifference(wanted: CertIdentity, seen: CertIdentity | undefined): string {
  if (!seen) return 'nothing served';
  if (wanted.leafSha1 !== seen.leafSha1) return `leaf SHA-1 ${seen.leafSha1}, not ${wanted.leafSha1}`;
  return `the same leaf with another chain (${seen.chain.length} certificate${seen.chain.length === 1 ? '' : 's'}: ${seen.chain.join(', ') || 'none'})`;
}

/** What names a chain certificate as HAProxy does; undefined when it does not parse (ChainCertificateCache). */
export interface ChainLinks {
  link(pem: string): string | undefined;
}

/**
 * The identity of certificate PEM blocks (leaf first) without parsing the leaf: the SHA-1 of its DER, and the
 * chain's links. Undefined when there is no block or a chain certificate does not parse.
 */
export function identityOfBlocks(blocks: readonly PemBlock[], chainLinks: ChainLinks): CertIdentity | undefined {
  const [leaf, ...chain] = blocks;
  if (leaf?.type !== 'CERTIFICATE') return undefined;
  const links = chain.map((block) => chainLinks.link(block.text));
  if (links.some((link) => link === undefined)) return undefined;
  const der = Buffer.from(leaf.text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return { leafSha1: createHash('sha1').update(der).digest('hex').toUpperCase(), chain: links as string[] };
}
