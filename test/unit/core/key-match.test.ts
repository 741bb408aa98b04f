import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { modulusBits, publicKeyOfCertificate, publicKeyOfPrivateKey, samePublicKey } from '../../../src/core/key-match.js';
import { makeTestLineage, type TestLineagePems } from '../../helpers/lineage-pems.js';

function pem(type: string, der: Buffer): string {
  return `-----BEGIN ${type}-----\n${der.toString('base64').match(/.{1,64}/g)?.join('\n')}\n-----END ${type}-----`;
}

/** What OpenSSL says: the key decodes and matches the certificate. */
function opensslMatches(keyPem: string, certificate: X509Certificate): boolean {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return false;
  }
  return certificate.checkPrivateKey(key);
}

function fastMatches(keyPem: string, certificate: X509Certificate): boolean {
  const inKey = publicKeyOfPrivateKey(keyPem);
  const inLeaf = publicKeyOfCertificate(certificate.raw);
  return inKey !== undefined && inLeaf !== undefined && samePublicKey(inKey, inLeaf);
}

describe('a key matched to its certificate without decoding it', () => {
  let ec: TestLineagePems;
  let rsa: TestLineagePems;
  let other: TestLineagePems;
  beforeAll(async () => {
    [ec, rsa, other] = await Promise.all([makeTestLineage(['ec.example']), makeTestLineage(['rsa.example'], { keyType: 'rsa', rsaBits: 3072 }), makeTestLineage(['other.example'])]);
  });

  it('reads the public key of EC and RSA keys in each encoding OpenSSL writes, and it is the certificate\'s', () => {
    for (const [lineage, encodings] of [
      [ec, ['pkcs8', 'sec1']],
      [rsa, ['pkcs8', 'pkcs1']],
    ] as const) {
      const certificate = new X509Certificate(lineage.cert);
      const key = createPrivateKey(lineage.privkey);
      for (const type of encodings) {
        const text = (key.export({ type, format: 'pem' }) as string).trim();
        expect({ type, matches: fastMatches(text, certificate) }).toEqual({ type, matches: true });
      }
    }
    const inRsa = publicKeyOfPrivateKey(createPrivateKey(rsa.privkey).export({ type: 'pkcs1', format: 'pem' }).toString().trim());
    expect(inRsa?.kind === 'rsa' && modulusBits(inRsa.modulus)).toBe(3072);
  });

  it('never says another certificate\'s key matches', () => {
    expect(fastMatches(other.privkey.trim(), new X509Certificate(ec.cert))).toBe(false);
    expect(opensslMatches(other.privkey.trim(), new X509Certificate(ec.cert))).toBe(false);
  });

  it('leaves what it does not read to OpenSSL: Ed25519, encrypted keys, text around the block', () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trim();
    expect(publicKeyOfPrivateKey(ed)).toBeUndefined();
    const encrypted = createPrivateKey(ec.privkey).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString().trim();
    expect(publicKeyOfPrivateKey(encrypted)).toBeUndefined();
    expect(publicKeyOfPrivateKey(`junk\n${ec.privkey.trim()}`)).toBeUndefined();
  });

  it('agrees with OpenSSL whenever it says "matches", for every single-byte corruption of the key', () => {
    const certificate = new X509Certificate(ec.cert);
    const der = createPrivateKey(ec.privkey).export({ type: 'pkcs8', format: 'der' });
    let fastSaidMatch = 0;
    for (let index = 0; index < der.length; index += 1) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const corrupted = Buffer.from(der);
        corrupted[index] = (corrupted[index] as number) ^ flip;
        const text = pem('PRIVATE KEY', corrupted);
        if (!fastMatches(text, certificate)) continue;
        fastSaidMatch += 1;
        expect({ index, flip, openssl: opensslMatches(text, certificate) }).toEqual({ index, flip, openssl: true });
      }
    }
    // Only the private scalar's bytes can change and still carry the certificate's public point.
    expect(fastSaidMatch).toBeGreaterThan(0);
  });
});
