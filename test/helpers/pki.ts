import { readFile, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { runCommand } from './processes.js';

export interface TestCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  /** Certificate then key, as HAProxy loads it. */
  readonly bundlePath: string;
  /** Upper-case hex, as Node's TLS and HAProxy's `show ssl cert` print it. */
  readonly serial: string;
}

async function openssl(args: readonly string[]): Promise<void> {
  const result = await runCommand('openssl', args);
  if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** A self-signed certificate made at test time (keys are never committed). */
export async function makeSelfSigned(dir: string, name: string, names: readonly string[], keyType: 'ec' | 'rsa' = 'ec'): Promise<TestCertificate> {
  const certPath = join(dir, `${name}.crt.pem`);
  const keyPath = join(dir, `${name}.key.pem`);
  const bundlePath = join(dir, `${name}.pem`);
  const keyArgs = keyType === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  await openssl([
    'req', '-x509', ...keyArgs, '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30',
    '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((entry) => `DNS:${entry}`).join(',')}`,
  ]);
  const cert = await readFile(certPath, 'utf8');
  await writeFile(bundlePath, cert + (await readFile(keyPath, 'utf8')), { mode: 0o600 });
  return { certPath, keyPath, bundlePath, serial: new X509Certificate(cert).serialNumber.toUpperCase() };
}

/** A CA and a server certificate signed by it, for a TLS listener a client verifies (pebble's API). */
export async function makeServerCertificate(dir: string): Promise<{ caPath: string; certPath: string; keyPath: string }> {
  const caPath = join(dir, 'tls-ca.pem');
  const caKey = join(dir, 'tls-ca.key');
  const keyPath = join(dir, 'tls-server.key');
  const csr = join(dir, 'tls-server.csr');
  const certPath = join(dir, 'tls-server.pem');
  const ext = join(dir, 'tls-server.ext');
  // keyUsage on the CA is not optional: sid's certbot 5.5 (urllib3 2.8 on Python 3.14 verifies with
  // VERIFY_X509_STRICT) refuses the connection with "CA cert does not include key usage extension" without it.
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caPath,
    '-days', '30', '-subj', '/CN=hotcert test TLS CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', '/CN=localhost']);
  // Go (pebble) ignores the CN and needs the SAN.
  await writeFile(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await openssl(['x509', '-req', '-in', csr, '-CA', caPath, '-CAkey', caKey, '-CAcreateserial', '-days', '30', '-extfile', ext, '-out', certPath]);
  return { caPath, certPath, keyPath };
}
