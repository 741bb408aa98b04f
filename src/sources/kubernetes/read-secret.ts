import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gateCertificate, type GatePolicy } from '../../core/certificate-gate.js';
import type { ChainCertificateCache } from '../../core/chain-certificate-cache.js';
import type { SourceFacts } from '../../core/facts.js';
import { pemBlocks } from '../../core/pem.js';
import { SecretInvalidError } from '../../errors.js';
import { describeFailedRead, readRegularFile } from '../../platform/files/read-regular-file.js';
import { currentPayload, type SecretLocation } from './secret-volumes.js';

/**
 * One `kubernetes.io/tls` Secret as a snapshot: `..data` resolved once, `tls.crt` (the leaf and its chain, as
 * cert-manager writes them) and `tls.key` (PKCS#1, PKCS#8 or SEC1) read from the directory it names, then the same
 * gate as every certificate. `ca.crt` is the issuing CA for clients to trust, not part of the bundle.
 * A payload kubelet is still swapping (`..data` not there yet, a file gone with an old directory) is not ready.
 */
export function readSecret(location: SecretLocation, now: Date, policy: GatePolicy, chainCache: ChainCertificateCache): SourceFacts {
  const where = `Secret ${location.name} (${location.secretDir})`;
  const invalid = (reason: string, file: string): SourceFacts => ({
    kind: 'invalid',
    error: new SecretInvalidError(`${where}: ${reason}`, { lineage: location.name, file: join(location.volumeDir, location.itemPath, file) }),
  });
  const payload = currentPayload(location.volumeDir);
  if (!payload) return { kind: 'not-ready', reason: `${where}: ..data does not name a payload yet (kubelet is writing the volume)` };
  const dir = join(payload, location.itemPath);
  const crt = readRegularFile(join(dir, 'tls.crt'));
  const key = readRegularFile(join(dir, 'tls.key'));
  for (const [file, read] of [['tls.crt', crt], ['tls.key', key]] as const) {
    if (read.kind === 'missing') return { kind: 'not-ready', reason: `${where}: ${file} is not in the payload ..data names (kubelet swapped it meanwhile, or the Secret has no ${file})` };
    if (read.kind !== 'read') return invalid(`${file} ${describeFailedRead(read)}`, file);
  }
  const certificates = pemBlocks((crt as { content: string }).content).filter((block) => block.type === 'CERTIFICATE');
  const keys = pemBlocks((key as { content: string }).content).filter((block) => block.type.endsWith('PRIVATE KEY'));
  if (certificates.length === 0) return invalid('tls.crt holds no PEM certificate', 'tls.crt');
  if (keys.length !== 1) return invalid('tls.key does not hold exactly one PEM private key', 'tls.key');
  const [leaf, ...chain] = certificates.map((block) => block.text);
  const verdict = gateCertificate({ leafPem: leaf as string, chainPems: chain, keyPem: keys[0]?.text as string }, now, policy, chainCache);
  if (!verdict.ok) {
    const file = verdict.part === 'key' ? 'tls.key' : 'tls.crt';
    const subject = verdict.part === 'leaf' ? 'the certificate in tls.crt' : verdict.part === 'chain' ? 'the chain in tls.crt:' : 'tls.key';
    return invalid(`${subject} ${verdict.reason}${verdict.part === 'key' && verdict.reason === 'does not match the certificate' ? ' in tls.crt' : ''}`, file);
  }
  return { kind: 'ready', certificate: verdict.certificate };
}

/**
 * What a Secret's bundle is made of as `..data` names it now: a digest of `tls.crt` and `tls.key` (never the keys
 * themselves), or what kept them from being read. Two equal digests: nothing hotcert deploys changed.
 */
export function secretContentDigest(location: SecretLocation): string {
  const payload = currentPayload(location.volumeDir);
  if (!payload) return 'no payload';
  const hash = createHash('sha256');
  for (const file of ['tls.crt', 'tls.key']) {
    const read = readRegularFile(join(payload, location.itemPath, file));
    hash.update(read.kind === 'read' ? `${read.content.length}:${read.content}` : `(${read.kind})`);
  }
  return hash.digest('base64');
}
