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
