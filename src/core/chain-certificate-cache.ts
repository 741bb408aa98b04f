import { X509Certificate, type KeyObject } from 'node:crypto';
import { chainLink } from './cert-identity.js';
import { haproxyDistinguishedName } from './distinguished-name.js';
import type { LeafFields } from './leaf-fields.js';

/**
 * What the gate learns about the few chain certificates lineages share, remembered by their PEM text: each is
 * parsed (and checked against the next) once, and OpenSSL's issuance check is asked once per kind of leaf it issues.
 * Bounded, so that odd inputs cannot grow it without limit.
 */
export class ChainCertificateCache {
  private readonly parsed = new Map<string, X509Certificate | undefined>();
  private readonly links = new Map<string, string | undefined>();
  private readonly keys = new Map<string, KeyObject>();
  private readonly signatures = new Map<string, boolean>();
  private readonly issuance = new Map<string, boolean>();

  constructor(private readonly limit = 64) {}

  get(pem: string): X509Certificate | undefined {
    if (this.parsed.has(pem)) return this.parsed.get(pem);
    let certificate: X509Certificate | undefined;
    try {
      certificate = new X509Certificate(pem);
    } catch {
      certificate = undefined;
    }
    remember(this.parsed, pem, certificate, this.limit);
    return certificate;
  }

  /** The chain certificate as HAProxy's `Chain Subject:`/`Chain Issuer:` names it; undefined when it does not parse. */
  link(pem: string): string | undefined {
    if (this.links.has(pem)) return this.links.get(pem);
    const certificate = this.get(pem);
    const link = certificate && chainLinkOf(certificate);
    remember(this.links, pem, link, this.limit);
    return link;
  }

  /** The public key of a chain certificate that parses (get), as a KeyObject made once. */
  publicKey(pem: string, certificate: X509Certificate): KeyObject {
    let key = this.keys.get(pem);
    if (!key) {
      key = certificate.publicKey;
      remember(this.keys, pem, key, this.limit);
    }
    return key;
  }

  /** Whether `parent` issued and signed `child`, both chain certificates that parse: OpenSSL asked once per pair. */
  signs(parentPem: string, parent: X509Certificate, childPem: string, child: X509Certificate): boolean {
    const pair = `${parentPem}\n${childPem}`;
    let signs = this.signatures.get(pair);
    if (signs === undefined) {
      signs = child.checkIssued(parent) && child.verify(this.publicKey(parentPem, parent));
      remember(this.signatures, pair, signs, this.limit);
    }
    return signs;
  }

  /**
   * OpenSSL's X509_check_issued(issuer, leaf) for a leaf read without OpenSSL. It looks at the leaf's issuer name,
   * its authorityKeyIdentifier, its signature algorithm (against the issuer's key type) and whether it is a proxy
   * certificate (crypto/x509/v3_purp.c, ossl_x509_likely_issued and ossl_x509_signing_allowed), so its answer for
   * one leaf holds for every leaf that carries the same four; `decide` asks OpenSSL for the first of them.
   */
  issues(issuerPem: string, leaf: LeafFields, decide: () => boolean): boolean {
    const key = [
      issuerPem,
      Buffer.from(leaf.issuerDer).toString('hex'),
      leaf.authorityKeyIdentifierDer ? Buffer.from(leaf.authorityKeyIdentifierDer).toString('hex') : '-',
      Buffer.from(leaf.signatureAlgorithmDer).toString('hex'),
      leaf.isProxy ? 'proxy' : 'end-entity',
    ].join('\n');
    let issues = this.issuance.get(key);
    if (issues === undefined) {
      issues = decide();
      remember(this.issuance, key, issues, this.limit);
    }
    return issues;
  }
}

export function chainLinkOf(certificate: X509Certificate): string {
  return chainLink(haproxyDistinguishedName(certificate.subject), haproxyDistinguishedName(certificate.issuer));
}

function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  if (map.size >= limit) map.clear();
  map.set(key, value);
}
