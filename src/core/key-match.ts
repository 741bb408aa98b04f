import { DER_TAG, bitStringBytes, derChildren, isSmallInteger, readWholeDer, sameBytes, type DerElement } from './der.js';

/**
 * The public half of a key, as a private key file and a certificate both carry it: compared byte for byte, this
 * is the check OpenSSL makes when it matches a key to a certificate (EVP_PKEY_eq compares public keys). Reading it
 * takes microseconds; decoding the key with OpenSSL 3 (createPrivateKey) took half a millisecond per ECDSA key,
 * the largest single cost of a bulk deploy.
 */
export type PublicKeyBytes =
  | { readonly kind: 'ec'; readonly curve: Uint8Array; readonly point: Uint8Array }
  | { readonly kind: 'rsa'; readonly modulus: Uint8Array; readonly exponent: Uint8Array };

const EC_PUBLIC_KEY = Buffer.from('2a8648ce3d0201', 'hex');
const RSA_ENCRYPTION = Buffer.from('2a864886f70d010101', 'hex');
// The named curves Let's Encrypt and cert-manager issue for, by OID contents: the size of a private scalar.
const CURVE_BYTES = new Map<string, number>([
  ['2a8648ce3d030107', 32], // P-256
  ['2b81040022', 48], // P-384
  ['2b81040023', 66], // P-521
]);
const PEM = /^-----BEGIN ((?:EC |RSA )?PRIVATE KEY)-----\n([A-Za-z0-9+/\n]+={0,2})\n-----END \1-----\n?$/;

/**
 * The public key inside an unencrypted PKCS#8 (`PRIVATE KEY`), SEC 1 (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE
 * KEY`) block, for EC keys on the curves above (with their public point, as OpenSSL writes them) and RSA keys.
 * Undefined for anything else: an encrypted key, another key type, a structure read here not; OpenSSL decides those.
 */
export function publicKeyOfPrivateKey(pem: string): PublicKeyBytes | undefined {
  const match = PEM.exec(pem);
  if (!match) return undefined;
  const der = Buffer.from((match[2] as string).replace(/\n/g, ''), 'base64');
  const outer = readWholeDer(der, DER_TAG.sequence);
  if (!outer) return undefined;
  switch (match[1]) {
    case 'PRIVATE KEY':
      return fromPkcs8(outer);
    case 'EC PRIVATE KEY':
      return fromEcPrivateKey(outer, undefined);
    default:
      return fromRsaPrivateKey(outer);
  }
}

/** The public key of a certificate (its DER), from its subjectPublicKeyInfo; undefined for other key types. */
export function publicKeyOfCertificate(der: Uint8Array): PublicKeyBytes | undefined {
  const certificate = readWholeDer(der, DER_TAG.sequence);
  const tbs = certificate && derChildren(certificate)?.[0];
  const fields = tbs?.tag === DER_TAG.sequence ? derChildren(tbs) : undefined;
  if (!fields) return undefined;
  // version [0] is present in every v3 certificate; serial, signature, issuer, validity, subject follow.
  const spki = fields[fields[0]?.tag === 0xa0 ? 6 : 5];
  const [algorithm, key, extra] = spki?.tag === DER_TAG.sequence ? (derChildren(spki) ?? []) : [];
  if (!algorithm || key?.tag !== DER_TAG.bitString || extra) return undefined;
  const [oid, parameters] = algorithm.tag === DER_TAG.sequence ? (derChildren(algorithm) ?? []) : [];
  const bits = bitStringBytes(key);
  if (!oid || !parameters || !bits) return undefined;
  if (isOid(oid, EC_PUBLIC_KEY) && parameters.tag === DER_TAG.oid) {
    const size = CURVE_BYTES.get(Buffer.from(parameters.contents).toString('hex'));
    return size !== undefined && isUncompressedPoint(bits, size) ? { kind: 'ec', curve: parameters.contents, point: bits } : undefined;
  }
  if (isOid(oid, RSA_ENCRYPTION) && parameters.tag === DER_TAG.null) {
    const publicKey = readWholeDer(bits, DER_TAG.sequence);
    const [modulus, exponent, more] = publicKey ? (derChildren(publicKey) ?? []) : [];
    return modulus?.tag === DER_TAG.integer && exponent?.tag === DER_TAG.integer && !more ? { kind: 'rsa', modulus: modulus.contents, exponent: exponent.contents } : undefined;
  }
  return undefined;
}

export function samePublicKey(left: PublicKeyBytes, right: PublicKeyBytes): boolean {
  if (left.kind === 'ec' && right.kind === 'ec') return sameBytes(left.curve, right.curve) && sameBytes(left.point, right.point);
  if (left.kind === 'rsa' && right.kind === 'rsa') return sameBytes(left.modulus, right.modulus) && sameBytes(left.exponent, right.exponent);
  return false;
}

/** The size of an RSA modulus in bits, as OpenSSL counts it. */
export function modulusBits(modulus: Uint8Array): number {
  let start = 0;
  while (start < modulus.length && modulus[start] === 0) start += 1;
  if (start === modulus.length) return 0;
  return (modulus.length - start - 1) * 8 + (32 - Math.clz32(modulus[start] as number));
}

// PrivateKeyInfo (RFC 5208): version 0, the algorithm, the key; no attributes, no version-1 public key.
function fromPkcs8(info: DerElement): PublicKeyBytes | undefined {
  const [version, algorithm, key, extra] = derChildren(info) ?? [];
  if (!isSmallInteger(version, 0) || algorithm?.tag !== DER_TAG.sequence || key?.tag !== DER_TAG.octetString || extra) return undefined;
  const [oid, parameters, more] = derChildren(algorithm) ?? [];
  if (!oid || !parameters || more) return undefined;
  const inner = readWholeDer(key.contents, DER_TAG.sequence);
  if (!inner) return undefined;
  if (isOid(oid, EC_PUBLIC_KEY) && parameters.tag === DER_TAG.oid) return fromEcPrivateKey(inner, parameters.contents);
  if (isOid(oid, RSA_ENCRYPTION) && parameters.tag === DER_TAG.null && parameters.contents.length === 0) return fromRsaPrivateKey(inner);
  return undefined;
}

// ECPrivateKey (RFC 5915): version 1, the scalar, [0] the curve, [1] the public point. The curve comes from the
// PKCS#8 algorithm or from [0] (they must agree when both are there).
function fromEcPrivateKey(key: DerElement, curveFromAlgorithm: Uint8Array | undefined): PublicKeyBytes | undefined {
  const [version, scalar, ...tagged] = derChildren(key) ?? [];
  if (!isSmallInteger(version, 1) || scalar?.tag !== DER_TAG.octetString) return undefined;
  let curve = curveFromAlgorithm;
  let point: Uint8Array | undefined;
  for (const field of tagged) {
    const [value, more] = derChildren(field) ?? [];
    if (!value || more) return undefined;
    if (field.tag === 0xa0 && value.tag === DER_TAG.oid && !point) {
      if (curve && !sameBytes(curve, value.contents)) return undefined;
      curve = value.contents;
    } else if (field.tag === 0xa1 && value.tag === DER_TAG.bitString && !point) {
      point = bitStringBytes(value);
    } else {
      return undefined;
    }
  }
  const size = curve && CURVE_BYTES.get(Buffer.from(curve).toString('hex'));
  if (!curve || size === undefined || !point || scalar.contents.length !== size || !isUncompressedPoint(point, size)) return undefined;
  return { kind: 'ec', curve, point };
}

// RSAPrivateKey (RFC 8017): version 0 (two primes), n, e, d, p, q, dP, dQ, qInv.
function fromRsaPrivateKey(key: DerElement): PublicKeyBytes | undefined {
  const fields = derChildren(key);
  if (!fields || fields.length !== 9 || !isSmallInteger(fields[0], 0) || fields.some((field) => field.tag !== DER_TAG.integer)) return undefined;
  return { kind: 'rsa', modulus: (fields[1] as DerElement).contents, exponent: (fields[2] as DerElement).contents };
}

function isUncompressedPoint(point: Uint8Array, size: number): boolean {
  return point.length === 1 + 2 * size && point[0] === 0x04;
}

function isOid(element: DerElement, oid: Buffer): boolean {
  return element.tag === DER_TAG.oid && sameBytes(element.contents, oid);
}
