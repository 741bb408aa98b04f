import { pemBlocks } from './pem.js';
import type { LineageSnapshot } from '../sources/certbot/lineage-snapshot.js';

/**
 * The HAProxy bundle: the PEM blocks of Certbot's fullchain (leaf first, then the chain) followed by the private key
 * block. Only PEM blocks, joined by single line ends: a blank line would end a runtime API payload (management.txt,
 * "set ssl cert"), and the same bytes go to disk so that a reload loads exactly what was committed.
 */
export function bundleFromPem(fullchainPem: string, keyPem: string): string {
  const blocks = [...pemBlocks(fullchainPem), ...pemBlocks(keyPem).filter((block) => block.type.endsWith('PRIVATE KEY'))];
  return blocks.map((block) => block.text.split('\n').filter((line) => line.trim() !== '').join('\n')).join('\n').concat('\n');
}

export function buildBundle(snapshot: LineageSnapshot): string {
  return bundleFromPem(snapshot.fullchainPem, snapshot.keyPem);
}

/** The bytes of `set ssl cert <path> <<` with this bundle as payload: what must fit HAProxy's tune.bufsize. */
export function setCommandBytes(storePath: string, bundle: string): number {
  return Buffer.byteLength(`set ssl cert ${storePath} <<\n${bundle}\n`);
}
