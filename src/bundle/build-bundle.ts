import type { LineageSnapshot } from '../certbot/lineage-snapshot.js';

/**
 * The HAProxy bundle of a lineage: Certbot's fullchain (leaf first, then the chain) followed by the private key, with
 * no blank line anywhere, because a blank line ends a runtime API payload (management.txt, "set ssl cert"), and the
 * same bytes go to disk so that a reload loads exactly what was committed.
 */
export function buildBundle(snapshot: LineageSnapshot): string {
  return `${snapshot.fullchainPem}${snapshot.keyPem}`
    .split('\n')
    .filter((line) => line.trim() !== '')
    .join('\n')
    .concat('\n');
}

/** The bytes of `set ssl cert <path> <<` with this bundle as payload: what must fit HAProxy's tune.bufsize. */
export function setCommandBytes(storePath: string, bundle: string): number {
  return Buffer.byteLength(`set ssl cert ${storePath} <<\n${bundle}\n`);
}
