import { X509Certificate } from 'node:crypto';
import { identityOfBlocks } from './cert-identity.js';
import type { GatedCertificate } from './certificate-gate.js';
import type { ChainCertificateCache } from './chain-certificate-cache.js';
import type { CertificateSummary } from './facts.js';
import { pemBlocks } from './pem.js';
import { canonicalSerial } from './serial.js';

/** A gated certificate as a summary (what a file holding its bundle says). */
export function summaryOf(certificate: GatedCertificate): CertificateSummary {
  return { identity: certificate.identity, serial: certificate.serial, notBefore: certificate.notBefore, notAfter: certificate.notAfter, dnsNames: certificate.dnsNames };
}

/**
 * What a bundle's text says of its certificate, without judging it: the reference the anti-rollback rule compares
 * with. Undefined when its first block is not a certificate that parses. A leaf already described (`known`: what
 * HAProxy reports for the store, which usually holds this very leaf) is recognised by its SHA-1 and not parsed
 * again: parsing the bundle file's leaf was a fifth of the main thread's time in a bulk renewal. Pure.
 */
export function summarizeBundle(bundle: string, chainCache: ChainCertificateCache, known?: CertificateSummary): CertificateSummary | undefined {
  const blocks = pemBlocks(bundle).filter((block) => block.type === 'CERTIFICATE');
  const [first, ...rest] = blocks;
  if (!first) return undefined;
  const chain = rest.map((block) => chainCache.link(block.text) ?? 'unparsable');
  if (known?.notBefore && known.notAfter) {
    const identity = identityOfBlocks([first], chainCache);
    if (identity?.leafSha1 === known.identity.leafSha1) return { ...known, identity: { leafSha1: identity.leafSha1, chain } };
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(first.text);
  } catch {
    return undefined;
  }
  const date = (text: string): Date | undefined => {
    const parsed = new Date(text);
    return Number.isNaN(parsed.getTime()) ? undefined : parsed;
  };
  return {
    identity: { leafSha1: leaf.fingerprint.replace(/:/g, '').toUpperCase(), chain },
    serial: canonicalSerial(leaf.serialNumber),
    notBefore: date(leaf.validFrom),
    notAfter: date(leaf.validTo),
    dnsNames: (leaf.subjectAltName ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4)),
  };
}
