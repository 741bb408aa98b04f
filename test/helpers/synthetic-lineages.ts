// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

type KeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface SyntheticIssuer {
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
}

/** An intermediate to sign synthetic lineages with (one per benchmark run, like Let's Encrypt's E-series). */
export async function makeIssuer(): Promise<SyntheticIssuer> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=hotcert bench intermediate',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  return { certificate, keys };
}

function pem(label: string, der: ArrayBuffer): string {
  const base64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}

/** `lineage00000`, `lineage00001`, …: N names that sort as they were made. */
export function lineageNames(count: number, prefix = 'lineage'): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(5, '0')}`);
}

/**
 * Writes version `version` of lineage `name` exactly as Certbot's storage.py lays it out (archive files, privkey
 * 0600, relative live links), for `<name>.bench` and `www.<name>.bench`. `notBeforeOffsetMs` lets later versions
 * be newer, as renewals are.
 */
export async function writeSyntheticLineage(configDir: string, issuer: SyntheticIssuer, name: string, version: number): Promise<void> {
  await writeLineageFiles(configDir, name, version, await makeSyntheticPems(issuer, name, version));
}

/** Writes given PEMs as version `version` of lineage `name`, as writeSyntheticLineage does (a burst made ahead of time). */
export async function writeLineageFiles(configDir: string, name: string, version: number, pems: { readonly cert: string; readonly chain: string; readonly privkey: string }): Promise<void> {
  const { cert, chain, privkey } = pems;
  const archive = join(configDir, 'archive', name);
  const live = join(configDir, 'live', name);
  await mkdir(archive, { recursive: true });
  await mkdir(live, { recursive: true });
  const files = { cert, privkey, chain, fullchain: cert + chain };
  for (const kind of ['cert', 'privkey', 'chain', 'fullchain'] as const) {
    await writeFile(join(archive, `${kind}${version}.pem`), files[kind], { mode: kind === 'privkey' ? 0o600 : 0o644 });
  }
  // Certbot flips each link by unlink + symlink, in this order.
  for (const kind of ['cert', 'privkey', 'chain', 'fullchain'] as const) {
    await unlink(join(live, `${kind}.pem`)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await symlink(`../../archive/${name}/${kind}${version}.pem`, join(live, `${kind}.pem`));
  }
}

/** A leaf for `<name>.bench` and `www.<name>.bench` with its key, signed by the issuer, as PEM texts. */
export async function makeSyntheticPems(issuer: SyntheticIssuer, name: string, version = 1): Promise<{ cert: string; chain: string; privkey: string; serial: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0] = (serial[0] as number) & 0x7f;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: `CN=${name}.bench`,
    issuer: issuer.certificate.subject,
    notBefore: new Date(Date.now() - 3_600_000 + version * 1000),
    notAfter: new Date(Date.now() + 90 * 86_400_000),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: `${name}.bench` }, { type: 'dns', value: `www.${name}.bench` }])],
  });
  const cert = leaf.toString('pem') + '\n';
  const chain = issuer.certificate.toString('pem') + '\n';
  const privkey = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert, chain, privkey, serial: serial.toString('hex').toUpperCase() };
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next] as T;
        next += 1;
        await work(item);
      }
    }),
  );
}
