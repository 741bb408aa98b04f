import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './processes.js';

/** The four files of a lineage, made with openssl at test time (keys are never committed). */
export interface TestLineagePems {
  readonly cert: string;
  readonly privkey: string;
  readonly chain: string;
  readonly fullchain: string;
  /** Upper-case hex without leading zeros. */
  readonly serial: string;
}

export interface TestLineageOptions {
  /** `YYYYMMDDHHMMSSZ`; default: now. With endDate in the past the certificate is expired. */
  readonly startDate?: string;
  readonly endDate?: string;
  readonly keyType?: 'ec' | 'rsa';
  /** With keyType rsa: the modulus size (2048 by default). */
  readonly rsaBits?: number;
}

async function openssl(args: readonly string[], cwd?: string): Promise<void> {
  const result = await runCommand('openssl', args, cwd ? { cwd } : {});
  if (result.code !== 0) throw new Error(`openssl ${args[0]}: ${result.stderr}`);
}

const CA_CONFIG = `[ ca ]
default_ca = test
[ test ]
dir = .
database = ./index.txt
new_certs_dir = .
serial = ./serial
default_md = sha256
default_days = 90
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
`;

/** A leaf signed by a throwaway intermediate (the chain), like a Let's Encrypt lineage; dates as asked. */
export async function makeTestLineage(names: readonly string[], options: TestLineageOptions = {}): Promise<TestLineagePems> {
  const dir = await mkdtemp(join(tmpdir(), 'hotcert-pems-'));
  try {
    await writeFile(join(dir, 'ca.cnf'), CA_CONFIG);
    await writeFile(join(dir, 'index.txt'), '');
    // A random 64-bit serial (even number of hex digits, top bit clear), as a CA would give.
    await writeFile(join(dir, 'serial'), `${(randomBytes(8).readBigUInt64BE() >> 1n).toString(16).padStart(16, '1')}\n`);
    const keyArgs = options.keyType === 'rsa' ? ['-newkey', `rsa:${options.rsaBits ?? 2048}`] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-subj', '/CN=hotcert test intermediate'], dir);
    await openssl(['req', ...keyArgs, '-nodes', '-keyout', 'key.pem', '-out', 'csr.pem', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`], dir);
    await openssl([
      'ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'csr.pem', '-out', 'cert.pem', '-notext',
      ...(options.startDate ? ['-startdate', options.startDate] : []),
      ...(options.endDate ? ['-enddate', options.endDate] : []),
    ], dir);
    const cert = await readFile(join(dir, 'cert.pem'), 'utf8');
    const chain = await readFile(join(dir, 'ca.pem'), 'utf8');
    return {
      cert,
      privkey: await readFile(join(dir, 'key.pem'), 'utf8'),
      chain,
      fullchain: cert + chain,
      serial: new X509Certificate(cert).serialNumber.toUpperCase().replace(/^0+/, ''),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Lays a lineage out as Certbot's storage.py does: `archive/<name>/<kind>N.pem` (privkey 0600) and relative links
 * `live/<name>/<kind>.pem` → `../../archive/<name>/<kind>N.pem`.
 */
export async function writeLineage(configDir: string, name: string, pems: Omit<TestLineagePems, 'serial'>, version = 1): Promise<void> {
  const archive = join(configDir, 'archive', name);
  const live = join(configDir, 'live', name);
  await mkdir(archive, { recursive: true });
  await mkdir(live, { recursive: true });
  for (const kind of ['cert', 'privkey', 'chain', 'fullchain'] as const) {
    await writeFile(join(archive, `${kind}${version}.pem`), pems[kind], { mode: kind === 'privkey' ? 0o600 : 0o644 });
    await unlink(join(live, `${kind}.pem`)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await symlink(`../../archive/${name}/${kind}${version}.pem`, join(live, `${kind}.pem`));
  }
}
