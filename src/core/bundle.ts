import { createHash } from 'node:crypto';
import { pemBlocks } from './pem.js';

/**
 * The HAProxy bundle: the certificates (leaf first, then the chain) followed by the private key block. Only PEM
 * blocks, joined by single line ends: a blank line would end a runtime API payload (management.txt, "set ssl
 * cert"), and the same bytes go to disk so that a reload loads exactly what was committed.
 */
export function bundleFromBlocks(certificatePems: readonly string[], keyPem: string): string {
  return [...certificatePems, keyPem].map(withoutBlankLines).join('\n').concat('\n');
}

/** The bundle of a fullchain text (leaf, then chain) and a key text, without parsing either. */
export function bundleFromPem(fullchainPem: string, keyPem: string): string {
  const key = pemBlocks(keyPem).filter((block) => block.type.endsWith('PRIVATE KEY'));
  return bundleFromBlocks(pemBlocks(fullchainPem).map((block) => block.text), key.map((block) => block.text).join('\n'));
}

export function bundleDigest(bundle: string): string {
  return createHash('sha256').update(bundle).digest('hex');
}

/** The bytes of `set ssl cert <path> <<` with this bundle as payload: what must fit HAProxy's tune.bufsize. */
export function setCommandBytes(storePath: string, bundle: string): number {
  return Buffer.byteLength(`set ssl cert ${storePath} <<\n${bundle}\n`);
}

function withoutBlankLines(pem: string): string {
  return pem.split(/\r?\n/).filter((line) => line.trim() !== '').join('\n');
}
