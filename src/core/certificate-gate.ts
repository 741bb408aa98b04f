import { X509Certificate, createPrivateKey, verify, type KeyObject } from 'node:crypto';
import { bundleDigest, bundleFromBlocks } from './bundle.js';
import type { CertIdentity } from './cert-identity.js';
import { ChainCertificateCache, chainLinkOf } from './chain-certificate-cache.js';
import { modulusBits, publicKeyOfCertificate, publicKeyOfPrivateKey, samePublicKey } from './key-match.js';
import { readLeafFields, type LeafFields } from './leaf-fields.js';
import { certificateDer } from './pem.js';
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
 * The checks every certificate passes before a byte of it is deployed, whatever its source:
 * - the leaf and each chain certificate parse; the key parses and matches the leaf;
 * - the leaf is issued and signed by the chain's first certificate, each chain certificate by the next (a flipped
 *   bit in a signature parses fine and only the signature check finds it: clients then fail with "certificate
 *   signature failure");
 * - the dates parse (an unparsable notAfter is an Invalid Date, and `NaN <= now` is false), notBefore is not
 *   further in the future than the clock skew allows, notAfter is in the future;
 * - an RSA key has at least `minRsaBits` (HAProxy's OpenSSL refuses smaller ones at `add ssl crt-list`).
 * A leaf that plainly passes is checked without OpenSSL parsing it (leafPassingQuickly); any other is left to
 * OpenSSL, which decides it and words the refusal. No I/O: `now` is the only clock.
 */
export function gateCertificate(parts: CertificateParts, now: Date, policy: GatePolicy, chainCache = new ChainCertificateCache()): GateVerdict {
  const chain: X509Certificate[] = [];
  for (const [index, pem] of parts.chainPems.entries()) {
    const certificate = chainCache.get(pem);
    if (!certificate) return refuse('chain', `certificate ${index + 1} of the chain does not parse`);
    chain.push(certificate);
  }
  const leaf = leafPassingQuickly(parts, chain[0], now, policy, chainCache) ?? leafCheckedByOpenssl(parts.leafPem, chain[0], now, policy);
  if ('reason' in leaf) return leaf;

  for (let index = 0; index + 1 < chain.length; index += 1) {
    const [child, parent] = [chain[index] as X509Certificate, chain[index + 1] as X509Certificate];
    if (!chainCache.signs(parts.chainPems[index + 1] as string, parent, parts.chainPems[index] as string, child)) {
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
      identity: { leafSha1: leaf.sha1, chain: chain.map(chainLinkOf) },
      serial: canonicalSerial(leaf.serialHex),
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
      dnsNames: leaf.dnsNames,
    },
  };
}

/** A leaf that passed its own checks, as the rest of the gate needs it; `x509` is OpenSSL's view, made on demand. */
interface PassedLeaf {
  readonly der: Uint8Array;
  readonly sha1: string;
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
  x509(): X509Certificate;
}

/**
 * The leaf's checks without OpenSSL parsing it, for the usual case only: a leaf read by readLeafFields, in its
 * validity window, issued by the chain's first certificate (OpenSSL's answer, remembered per kind of leaf) and
 * signed by it (`crypto.verify` of the signed bytes with the issuer's key, as X509_verify does). Undefined for
 * anything else, which leafCheckedByOpenssl then decides and words exactly as before.
 */
export function leafPassingQuickly(parts: CertificateParts, issuer: X509Certificate | undefined, now: Date, policy: GatePolicy, chainCache: ChainCertificateCache): PassedLeaf | undefined {
  const issuerPem = parts.chainPems[0];
  if (!issuer || issuerPem === undefined) return undefined;
  const der = certificateDer(parts.leafPem);
  const fields = der && readLeafFields(der);
  if (!fields) return undefined;
  if (fields.notBefore.getTime() > now.getTime() + policy.clockSkewMs || fields.notAfter.getTime() <= now.getTime()) return undefined;
  const issuerKey = chainCache.publicKey(issuerPem, issuer);
  if (issuerKey.asymmetricKeyType !== fields.signatureAlgorithm.keyType) return undefined;
  if (!chainCache.issues(issuerPem, fields, () => new X509Certificate(parts.leafPem).checkIssued(issuer))) return undefined;
  if (!verify(fields.signatureAlgorithm.digest, fields.tbs, issuerKey, fields.signature)) return undefined;
  return passedLeaf(fields, parts.leafPem);
}

function passedLeaf(fields: LeafFields, leafPem: string): PassedLeaf {
  let x509: X509Certificate | undefined;
  return { ...fields, x509: () => (x509 ??= new X509Certificate(leafPem)) };
}

function leafCheckedByOpenssl(leafPem: string, issuer: X509Certificate | undefined, now: Date, policy: GatePolicy): PassedLeaf | Refusal {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch {
    return refuse('leaf', 'is not a valid certificate');
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (Number.isNaN(notBefore.getTime())) return refuse('leaf', `has a notBefore that cannot be read ("${leaf.validFrom}")`);
  if (Number.isNaN(notAfter.getTime())) return refuse('leaf', `has a notAfter that cannot be read ("${leaf.validTo}")`);
  if (notBefore.getTime() > now.getTime() + policy.clockSkewMs) {
    return refuse('leaf', `is not valid before ${notBefore.toISOString()} (clients would refuse it as not yet valid)`);
  }
  if (notAfter.getTime() <= now.getTime()) return refuse('leaf', `expired at ${notAfter.toISOString()}`);

  if (issuer) {
    if (!leaf.checkIssued(issuer)) return refuse('chain', 'its first certificate did not issue the leaf (issuer name or key identifier differ)');
    if (!leaf.verify(issuer.publicKey)) return refuse('leaf', 'has a signature that the chain\'s first certificate does not verify');
  } else if (leaf.checkIssued(leaf) && !leaf.verify(leaf.publicKey)) {
    return refuse('leaf', 'is self-signed and its signature does not verify');
  }
  return {
    der: leaf.raw,
    sha1: leaf.fingerprint.replace(/:/g, '').toUpperCase(),
    serialHex: leaf.serialNumber,
    notBefore,
    notAfter,
    dnsNames: (leaf.subjectAltName ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4)),
    x509: () => leaf,
  };
}

/**
 * The key matches the leaf: by the public key both carry when it can be read without decoding the key (EC and RSA
 * keys as Certbot and cert-manager write them), else by OpenSSL, which also decides every mismatch.
 */
function checkKey(leaf: PassedLeaf, keyPem: string): { readonly ok: true; readonly rsaBits: number | undefined } | { readonly ok: false; readonly reason: string } {
  const inKey = publicKeyOfPrivateKey(keyPem);
  const inLeaf = inKey && publicKeyOfCertificate(leaf.der);
  if (inKey && inLeaf && samePublicKey(inKey, inLeaf)) return { ok: true, rsaBits: inKey.kind === 'rsa' ? modulusBits(inKey.modulus) : undefined };
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return { ok: false, reason: 'is not a valid unencrypted private key' };
  }
  if (!leaf.x509().checkPrivateKey(key)) return { ok: false, reason: 'does not match the certificate' };
  return { ok: true, rsaBits: key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined };
}

type Refusal = Extract<GateVerdict, { ok: false }>;

function refuse(part: GatePart, reason: string): Refusal {
  return { ok: false, part, reason };
}
