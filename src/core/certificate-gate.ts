import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { bundleDigest, bundleFromBlocks } from './bundle.js';
import { chainLink, type CertIdentity } from './cert-identity.js';
import { haproxyDistinguishedName } from './distinguished-name.js';
import { modulusBits, publicKeyOfCertificate, publicKeyOfPrivateKey, samePublicKey } from './key-match.js';
import { canonicalSerial } from './serial.js';

/** A certificate, its chain and its key as a source holds them, each as PEM text of one block. */
export interface CertificateParts {
  readonly leafPem: string;
  readonly chainPems: readonly string[];
  readonly keyPem: string;
}

export interface GatePolicy {
  /** How far in the future a notBefore may lie (clocks differ a little between a CA and this host). */
  readonly clockSkewMs: number;
  /** The smallest RSA key HAProxy takes at OpenSSL's default security level ("ee key too small" below 2048). */
  readonly minRsaBits: number;
}

export const DEFAULT_GATE_POLICY: GatePolicy = { clockSkewMs: 300_000, minRsaBits: 2048 };

/** A certificate that passed the gate: what is deployed and how it is known. */
export interface GatedCertificate {
  /** The HAProxy bundle: leaf, chain, key (see bundleFromBlocks). */
  readonly bundle: string;
  /** SHA-256 of the bundle's bytes: hotcert's bundle file holds exactly this, or it differs. */
  readonly bundleDigest: string;
  readonly identity: CertIdentity;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
}

export type GatePart = 'leaf' | 'chain' | 'key';

export type GateVerdict =
  | { readonly ok: true; readonly certificate: GatedCertificate }
  | { readonly ok: false; readonly part: GatePart; readonly reason: string };

/**
 * Parsed chain certificates, remembered by their PEM text: lineages share a handful of intermediates, so each is
 * parsed (and checked against the next) once. Bounded, so that odd inputs cannot grow it without limit.
 */
export class ChainCertificateCache {
  private readonly parsed = new Map<string, X509Certificate | undefined>();
  private readonly links = new Map<string, string | undefined>();

  constructor(private readonly limit = 64) {}

  get(pem: string): X509Certificate | undefined {
    if (this.parsed.has(pem)) return this.parsed.get(pem);
    let certificate: X509Certificate | undefined;
    try {
      certificate = new X509Certificate(pem);
    } catch {
      certificate = undefined;
    }
    if (this.parsed.size >= this.limit) this.parsed.clear();
    this.parsed.set(pem, certificate);
    return certificate;
  }

  /** The chain certificate as HAProxy's `Chain Subject:`/`Chain Issuer:` names it; undefined when it does not parse. */
  link(pem: string): string | undefined {
    if (this.links.has(pem)) return this.links.get(pem);
    const certificate = this.get(pem);
    const link = certificate && chainLinkOf(certificate);
    if (this.links.size >= this.limit) this.links.clear();
    this.links.set(pem, link);
    return link;
  }
}

function chainLinkOf(certificate: X509Certificate): string {
  return chainLink(haproxyDistinguishedName(certificate.subject), haproxyDistinguishedName(certificate.issuer));
}

/**
 * The checks every certificate passes before a byte of it is deployed, whatever its source:
 * - the leaf and each chain certificate parse; the key parses and matches the leaf;
 * - the leaf is issued and signed by the chain's first certificate, each chain certificate by the next (a flipped
 *   bit in a signature parses fine and only the signature check finds it: clients then fail with "certificate
 *   signature failure");
 * - the dates parse (an unparsable notAfter is an Invalid Date, and `NaN <= now` is false), notBefore is not
 *   further in the future than the clock skew allows, notAfter is in the future;
 * - an RSA key has at least `minRsaBits` (HAProxy's OpenSSL refuses smaller ones at `add ssl crt-list`).
 * No I/O: `now` is the only clock.
 */
export function gateCertificate(parts: CertificateParts, now: Date, policy: GatePolicy, chainCache = new ChainCertificateCache()): GateVerdict {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(parts.leafPem);
  } catch {
    return refuse('leaf', 'is not a valid certificate');
  }
  const chain: X509Certificate[] = [];
  for (const [index, pem] of parts.chainPems.entries()) {
    const certificate = chainCache.get(pem);
    if (!certificate) return refuse('chain', `certificate ${index + 1} of the chain does not parse`);
    chain.push(certificate);
  }

  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (Number.isNaN(notBefore.getTime())) return refuse('leaf', `has a notBefore that cannot be read ("${leaf.validFrom}")`);
  if (Number.isNaN(notAfter.getTime())) return refuse('leaf', `has a notAfter that cannot be read ("${leaf.validTo}")`);
  if (notBefore.getTime() > now.getTime() + policy.clockSkewMs) {
    return refuse('leaf', `is not valid before ${notBefore.toISOString()} (clients would refuse it as not yet valid)`);
  }
  if (notAfter.getTime() <= now.getTime()) return refuse('leaf', `expired at ${notAfter.toISOString()}`);

  const issuer = chain[0];
  if (issuer) {
    if (!leaf.checkIssued(issuer)) return refuse('chain', 'its first certificate did not issue the leaf (issuer name or key identifier differ)');
    if (!leaf.verify(issuer.publicKey)) return refuse('leaf', 'has a signature that the chain\'s first certificate does not verify');
  } else if (leaf.checkIssued(leaf) && !leaf.verify(leaf.publicKey)) {
    return refuse('leaf', 'is self-signed and its signature does not verify');
  }
  for (let index = 0; index + 1 < chain.length; index += 1) {
    const [child, parent] = [chain[index] as X509Certificate, chain[index + 1] as X509Certificate];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      return refuse('chain', `certificate ${index + 1} of the chain is not signed by certificate ${index + 2}`);
    }
  }

  const key = checkKey(leaf, parts.keyPem);
  if (!key.ok) return refuse('key', key.reason);
  const rsaBits = key.rsaBits;
  if (rsaBits !== undefined && rsaBits < policy.minRsaBits) {
    return refuse('key', `is RSA ${rsaBits}: HAProxy's OpenSSL refuses RSA keys under ${policy.minRsaBits} bits ("ee key too small")`);
  }

  const bundle = bundleFromBlocks([parts.leafPem, ...parts.chainPems], parts.keyPem);
  return {
    ok: true,
    certificate: {
      bundle,
      bundleDigest: bundleDigest(bundle),
      identity: {
        leafSha1: leaf.fingerprint.replace(/:/g, '').toUpperCase(),
        chain: chain.map(chainLinkOf),
      },
      serial: canonicalSerial(leaf.serialNumber),
      notBefore,
      notAfter,
      dnsNames: (leaf.subjectAltName ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.startsWith('DNS:'))
        .map((entry) => entry.slice(4)),
    },
  };
}

/**
 * The key matches the leaf: by the public key both carry when it can be read without decoding the key (EC and RSA
 * keys as Certbot and cert-manager write them), else by OpenSSL, which also decides every mismatch.
 */
function checkKey(leaf: X509Certificate, keyPem: string): { readonly ok: true; readonly rsaBits: number | undefined } | { readonly ok: false; readonly reason: string } {
  const inKey = publicKeyOfPrivateKey(keyPem);
  const inLeaf = inKey && publicKeyOfCertificate(leaf.raw);
  if (inKey && inLeaf && samePublicKey(inKey, inLeaf)) return { ok: true, rsaBits: inKey.kind === 'rsa' ? modulusBits(inKey.modulus) : undefined };
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return { ok: false, reason: 'is not a valid unencrypted private key' };
  }
  if (!leaf.checkPrivateKey(key)) return { ok: false, reason: 'does not match the certificate' };
  return { ok: true, rsaBits: key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined };
}

function refuse(part: GatePart, reason: string): GateVerdict {
  return { ok: false, part, reason };
}
