import { createHash } from 'node:crypto';
import { DER_TAG, bitStringBytes, derChildren, isSmallInteger, readWholeDer, sameBytes, type DerElement } from './der.js';

/**
 * What the certificate gate needs of a leaf, read from its DER without OpenSSL. OpenSSL 3's d2i_X509 (behind
 * `new X509Certificate`) decodes the subjectPublicKeyInfo through OSSL_DECODER_CTX_new_for_pkey, which walks every
 * provider's key managers: about 110 µs per certificate, the largest cost left in assessing a lineage. Reading the
 * fields here takes a few microseconds.
 *
 * Strict by design: only the shape a CA issues (v3, DER times, the signature algorithms below, well-formed names and
 * extensions, no duplicate extension) is read; anything else is undefined, and OpenSSL decides it.
 */
export interface LeafFields {
  readonly der: Uint8Array;
  /** The signed part, as signed: `crypto.verify` takes these bytes. */
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The whole AlgorithmIdentifier, as X509_check_issued compares the signature algorithm with the issuer's key. */
  readonly signatureAlgorithmDer: Uint8Array;
  /** Upper-case hex of the serial's bytes (canonicalSerial makes it HAProxy's form). */
  readonly serialHex: string;
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The authorityKeyIdentifier extension's value, as DER, when there is one. */
  readonly authorityKeyIdentifierDer: Uint8Array | undefined;
  /** RFC 3820 proxy certificates: X509_check_issued asks the issuer for another key usage. */
  readonly isProxy: boolean;
  /** dNSName entries of the subjectAltName, in order. */
  readonly dnsNames: readonly string[];
  /** SHA-1 of the DER, upper-case hex: HAProxy's `SHA1 FingerPrint:`. */
  readonly sha1: string;
}

/** The signature algorithms read here: what `crypto.verify` needs for each, and the issuer key type it takes. */
export interface SignatureAlgorithm {
  readonly digest: 'sha256' | 'sha384' | 'sha512';
  readonly keyType: 'ec' | 'rsa';
}

const SIGNATURE_ALGORITHMS = new Map<string, SignatureAlgorithm & { readonly parameters: 'absent' | 'null' }>([
  ['2a8648ce3d040302', { digest: 'sha256', keyType: 'ec', parameters: 'absent' }], // ecdsa-with-SHA256
  ['2a8648ce3d040303', { digest: 'sha384', keyType: 'ec', parameters: 'absent' }], // ecdsa-with-SHA384
  ['2a8648ce3d040304', { digest: 'sha512', keyType: 'ec', parameters: 'absent' }], // ecdsa-with-SHA512
  ['2a864886f70d01010b', { digest: 'sha256', keyType: 'rsa', parameters: 'null' }], // sha256WithRSAEncryption
  ['2a864886f70d01010c', { digest: 'sha384', keyType: 'rsa', parameters: 'null' }], // sha384WithRSAEncryption
  ['2a864886f70d01010d', { digest: 'sha512', keyType: 'rsa', parameters: 'null' }], // sha512WithRSAEncryption
]);

const EXTENSION = {
  subjectAltName: '551d11',
  authorityKeyIdentifier: '551d23',
  proxyCertInfo: '2b0601050507010e',
} as const;

// Context-specific tags: [0] version and [3] extensions of a TBSCertificate, [2] dNSName of a GeneralName.
const TAG = { version: 0xa0, extensions: 0xa3, dnsName: 0x82 } as const;
// Names that Node's subjectAltName prints as they are (it quotes others): the fast path gives the same list.
const PLAIN_DNS_NAME = /^[A-Za-z0-9*._-]+$/;

export function readLeafFields(der: Uint8Array): LeafFields | undefined {
  const certificate = readWholeDer(der, DER_TAG.sequence);
  const [tbs, algorithm, signatureBits, extra] = certificate ? (derChildren(certificate) ?? []) : [];
  if (tbs?.tag !== DER_TAG.sequence || algorithm?.tag !== DER_TAG.sequence || !signatureBits || extra) return undefined;
  const signatureAlgorithm = readSignatureAlgorithm(algorithm);
  const signature = bitStringBytes(signatureBits);
  if (!signatureAlgorithm || !signature) return undefined;

  const [version, serial, innerAlgorithm, issuer, validity, subject, spki, ...rest] = derChildren(tbs) ?? [];
  // v3 only: version [0] holding INTEGER 2. Issuer and subject unique IDs ([1], [2]) are never issued by a CA today.
  if (version?.tag !== TAG.version || !isVersion3(version)) return undefined;
  // A positive serial only: OpenSSL prints a negative one with a minus sign, not as its two's complement bytes.
  if (serial?.tag !== DER_TAG.integer || serial.contents.length === 0 || serial.contents.length > 21 || (serial.contents[0] as number) >= 0x80) return undefined;
  // X509_verify refuses a certificate whose two signature algorithms differ.
  if (!innerAlgorithm || !sameBytes(innerAlgorithm.encoded, algorithm.encoded)) return undefined;
  if (!issuer || !isName(issuer) || !subject || !isName(subject) || spki?.tag !== DER_TAG.sequence) return undefined;
  const [notBefore, notAfter, moreTimes] = validity?.tag === DER_TAG.sequence ? (derChildren(validity) ?? []) : [];
  const from = notBefore && readTime(notBefore);
  const to = notAfter && readTime(notAfter);
  if (!from || !to || moreTimes) return undefined;
  const [extensionsField, afterExtensions] = rest;
  if (extensionsField?.tag !== TAG.extensions || afterExtensions) return undefined;
  const extensions = readExtensions(extensionsField);
  if (!extensions) return undefined;

  const subjectAltName = extensions.get(EXTENSION.subjectAltName);
  const dnsNames = subjectAltName ? readDnsNames(subjectAltName) : [];
  if (!dnsNames) return undefined;
  return {
    der,
    tbs: tbs.encoded,
    signature,
    signatureAlgorithm,
    signatureAlgorithmDer: algorithm.encoded,
    serialHex: Buffer.from(serial.contents).toString('hex').toUpperCase(),
    issuerDer: issuer.encoded,
    subjectDer: subject.encoded,
    notBefore: from,
    notAfter: to,
    authorityKeyIdentifierDer: extensions.get(EXTENSION.authorityKeyIdentifier),
    isProxy: extensions.has(EXTENSION.proxyCertInfo),
    dnsNames,
    sha1: createHash('sha1').update(der).digest('hex').toUpperCase(),
  };
}

function readSignatureAlgorithm(algorithm: DerElement): SignatureAlgorithm | undefined {
  const [oid, parameters, more] = derChildren(algorithm) ?? [];
  const known = oid?.tag === DER_TAG.oid ? SIGNATURE_ALGORITHMS.get(Buffer.from(oid.contents).toString('hex')) : undefined;
  if (!known || more) return undefined;
  if (known.parameters === 'absent' ? parameters !== undefined : parameters?.tag !== DER_TAG.null || parameters.contents.length > 0) return undefined;
  return { digest: known.digest, keyType: known.keyType };
}

function isVersion3(version: DerElement): boolean {
  const [integer, more] = derChildren(version) ?? [];
  return isSmallInteger(integer, 2) && !more;
}

// Name ::= SEQUENCE OF RelativeDistinguishedName; RelativeDistinguishedName ::= SET OF SEQUENCE { OID, value }
function isName(name: DerElement): boolean {
  const relativeNames = name.tag === DER_TAG.sequence ? derChildren(name) : undefined;
  return relativeNames !== undefined && relativeNames.every(isRelativeName);
}

function isRelativeName(relative: DerElement): boolean {
  const attributes = relative.tag === DER_TAG.set ? derChildren(relative) : undefined;
  return attributes !== undefined && attributes.length > 0 && attributes.every(isAttribute);
}

function isAttribute(attribute: DerElement): boolean {
  const [type, value, more] = attribute.tag === DER_TAG.sequence ? (derChildren(attribute) ?? []) : [];
  return type?.tag === DER_TAG.oid && value !== undefined && !more;
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

// RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ (YY >= 50 is 19YY) until 2049, GeneralizedTime YYYYMMDDHHMMSSZ after.
function readTime(time: DerElement): Date | undefined {
  const text = Buffer.from(time.contents).toString('latin1');
  const match = time.tag === DER_TAG.utcTime ? UTC_TIME.exec(text) : time.tag === DER_TAG.generalizedTime ? GENERALIZED_TIME.exec(text) : null;
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const fullYear = time.tag === DER_TAG.utcTime ? (year >= 50 ? 1900 + year : 2000 + year) : year;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(Date.UTC(fullYear, month - 1, day, hour, minute, second));
  // Date.UTC rolls 31 February over into March; OpenSSL refuses it.
  return date.getUTCDate() === day ? date : undefined;
}

// Extensions ::= SEQUENCE OF SEQUENCE { OID, critical BOOLEAN DEFAULT FALSE, OCTET STRING holding one DER value }.
// OpenSSL 3 marks a certificate with a repeated extension invalid, so a repeat is left to it.
function readExtensions(field: DerElement): Map<string, Uint8Array> | undefined {
  const [sequence, more] = derChildren(field) ?? [];
  const entries = sequence?.tag === DER_TAG.sequence && !more ? derChildren(sequence) : undefined;
  if (!entries) return undefined;
  const values = new Map<string, Uint8Array>();
  for (const entry of entries) {
    const parts = entry.tag === DER_TAG.sequence ? derChildren(entry) : undefined;
    if (!parts || parts.length < 2 || parts.length > 3) return undefined;
    const [oid, critical] = parts;
    const value = parts[parts.length - 1] as DerElement;
    if (oid?.tag !== DER_TAG.oid || value.tag !== DER_TAG.octetString) return undefined;
    if (parts.length === 3 && critical?.tag !== DER_TAG.boolean) return undefined;
    const inner = readWholeDer(value.contents, value.contents[0] ?? -1);
    const key = Buffer.from(oid.contents).toString('hex');
    if (!inner || values.has(key)) return undefined;
    values.set(key, inner.encoded);
  }
  return values;
}

// GeneralNames ::= SEQUENCE OF GeneralName; dNSName is [2] IMPLICIT IA5String.
function readDnsNames(value: Uint8Array): string[] | undefined {
  const names = readWholeDer(value, DER_TAG.sequence);
  const entries = names && derChildren(names);
  if (!entries || entries.length === 0) return undefined;
  const dnsNames: string[] = [];
  for (const entry of entries) {
    if (entry.tag !== TAG.dnsName) continue;
    const name = Buffer.from(entry.contents).toString('latin1');
    if (!PLAIN_DNS_NAME.test(name)) return undefined;
    dnsNames.push(name);
  }
  return dnsNames;
}
