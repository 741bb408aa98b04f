import { X509Certificate, verify } from 'node:crypto';
import { DEFAULT_GATE_POLICY, leafPassingQuickly, type CertificateParts } from '../../../src/core/certificate-gate.js';
import { ChainCertificateCache } from '../../../src/core/chain-certificate-cache.js';
import { readLeafFields } from '../../../src/core/leaf-fields.js';
import { canonicalSerial } from '../../../src/core/serial.js';
import { makeTestLineage, type TestLineagePems } from '../../helpers/lineage-pems.js';
import { makeIssuer, makeSyntheticPems } from '../../helpers/synthetic-lineages.js';

const NOW = new Date();

function der(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function pem(bytes: Uint8Array): string {
  return `-----BEGIN CERTIFICATE-----\n${Buffer.from(bytes).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

function parts(pems: { cert: string; chain: string; privkey: string }): CertificateParts {
  return { leafPem: pems.cert, chainPems: [pems.chain], keyPem: pems.privkey };
}

describe('readLeafFields: a leaf read without OpenSSL says what OpenSSL says', () => {
  const cases: Array<[string, () => Promise<{ cert: string; chain: string; privkey: string }>]> = [
    ['ECDSA leaf from openssl ca', () => makeTestLineage(['site.test', 'www.site.test', '*.site.test'])],
    ['RSA leaf from openssl ca', () => makeTestLineage(['rsa.test'], { keyType: 'rsa' })],
    ['leaf from a WebCrypto issuer (no key identifiers)', async () => makeSyntheticPems(await makeIssuer(), 'synthetic')],
  ];

  it.each(cases)('%s', async (_, make) => {
    const pems = await make();
    const openssl = new X509Certificate(pems.cert);
    const fields = readLeafFields(der(pems.cert));
    expect(fields).toBeDefined();
    expect(fields?.sha1).toBe(openssl.fingerprint.replace(/:/g, ''));
    expect(canonicalSerial(fields?.serialHex ?? '')).toBe(canonicalSerial(openssl.serialNumber));
    expect(fields?.notBefore.getTime()).toBe(new Date(openssl.validFrom).getTime());
    expect(fields?.notAfter.getTime()).toBe(new Date(openssl.validTo).getTime());
    const sanDns = (openssl.subjectAltName ?? '').split(', ').filter((entry) => entry.startsWith('DNS:')).map((entry) => entry.slice(4));
    expect(fields?.dnsNames).toEqual(sanDns);
    const issuerKey = new X509Certificate(pems.chain).publicKey;
    expect(issuerKey.asymmetricKeyType).toBe(fields?.signatureAlgorithm.keyType);
    expect(verify(fields?.signatureAlgorithm.digest ?? null, fields?.tbs ?? new Uint8Array(), issuerKey, fields?.signature ?? new Uint8Array())).toBe(true);
  });

  it('leaves anything not exactly a certificate to OpenSSL: a byte after it, a cut, a month 13', async () => {
    const bytes = der((await makeTestLineage(['odd.test'])).cert);
    expect(readLeafFields(Buffer.concat([bytes, Buffer.from([0])]))).toBeUndefined();
    expect(readLeafFields(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    const utcTimes = [...bytes.keys()].filter((index) => bytes[index] === 0x17 && bytes[index + 1] === 0x0d);
    const month = Buffer.from(bytes);
    month[(utcTimes[1] as number) + 4] = 0x31;
    month[(utcTimes[1] as number) + 5] = 0x33;
    expect(readLeafFields(month)).toBeUndefined();
  });
});

describe('leafPassingQuickly: only a leaf that passes every check skips OpenSSL', () => {
  let own: TestLineagePems;
  let other: TestLineagePems;
  beforeAll(async () => {
    [own, other] = await Promise.all([makeTestLineage(['own.test']), makeTestLineage(['other.test'])]);
  });
  const issuer = (chainPem: string): X509Certificate => new X509Certificate(chainPem);

  it('passes a leaf issued and signed by its chain, with the facts OpenSSL reads', () => {
    const passed = leafPassingQuickly(parts(own), issuer(own.chain), NOW, DEFAULT_GATE_POLICY, new ChainCertificateCache());
    expect(passed?.sha1).toBe(new X509Certificate(own.cert).fingerprint.replace(/:/g, ''));
    expect(passed?.x509().subject).toBe('CN=own.test');
  });

  it('leaves a flipped signature bit, a foreign issuer, an expired leaf and a non-canonical PEM to OpenSSL', async () => {
    const bytes = der(own.cert);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0x01;
    const cache = new ChainCertificateCache();
    expect(leafPassingQuickly({ ...parts(own), leafPem: pem(bytes) }, issuer(own.chain), NOW, DEFAULT_GATE_POLICY, cache)).toBeUndefined();
    expect(leafPassingQuickly({ ...parts(own), chainPems: [other.chain] }, issuer(other.chain), NOW, DEFAULT_GATE_POLICY, cache)).toBeUndefined();
    const expired = await makeTestLineage(['old.test'], { startDate: '20200101000000Z', endDate: '20200201000000Z' });
    expect(leafPassingQuickly(parts(expired), issuer(expired.chain), NOW, DEFAULT_GATE_POLICY, cache)).toBeUndefined();
    const spaced = own.cert.replace('\n', ' \n');
    expect(leafPassingQuickly({ ...parts(own), leafPem: spaced }, issuer(own.chain), NOW, DEFAULT_GATE_POLICY, cache)).toBeUndefined();
    // The good leaf still passes with the same cache: the refusals above were not remembered for it.
    expect(leafPassingQuickly(parts(own), issuer(own.chain), NOW, DEFAULT_GATE_POLICY, cache)).toBeDefined();
  });
});
