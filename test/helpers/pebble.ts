import { readFile, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { makeServerCertificate } from './pki.js';
import { startProcess, type TrackedProcess } from './processes.js';
import { waitFor } from './wait-for.js';

/** Pebble, Let's Encrypt's test ACME server (Debian's pebble 2.4), on loopback. */
export interface TestPebble {
  readonly directoryUrl: string;
  /** The CA of pebble's own HTTPS API (certbot must trust it through REQUESTS_CA_BUNDLE). */
  readonly tlsCaPath: string;
  readonly process: TrackedProcess;
  /** The root of the hierarchy pebble issues from (new on every pebble start). */
  rootPem(): Promise<string>;
  stop(): Promise<void>;
}

function fetchText(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { ca, timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.once('error', reject);
    request.once('timeout', () => request.destroy(new Error(`timeout fetching ${url}`)));
  });
}

/**
 * Starts pebble in `dir`. Debian's package ships no TLS certificate for pebble's own API, so one is made here.
 * The environment removes pebble's deliberate flakiness: 5% nonce rejection (acme retries a bad nonce only once)
 * and random authz reuse, which would make certbot's run time vary from run to run.
 */
export async function startPebble(dir: string): Promise<TestPebble> {
  const tls = await makeServerCertificate(dir);
  const [acmePort, managementPort, httpPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const configPath = join(dir, 'pebble-config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: tls.certPath,
        privateKey: tls.keyPath,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        // 90 days, like Let's Encrypt's classic profile.
        certificateValidityPeriod: 7_776_000,
      },
    }),
  );
  const child = startProcess('pebble', 'pebble', ['-config', configPath, '-strict=false'], {
    cwd: dir,
    env: {
      ...process.env,
      PEBBLE_VA_ALWAYS_VALID: '1',
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
      PEBBLE_AUTHZREUSE: '100',
    },
  });
  const ca = await readFile(tls.caPath, 'utf8');
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  try {
    await waitFor(async () => (await fetchText(directoryUrl, ca)).status === 200, {
      timeoutMs: 20_000,
      what: 'pebble to serve its ACME directory',
    });
  } catch (error) {
    await child.stop('SIGKILL');
    throw new Error(`pebble did not start: ${(error as Error).message}\n${child.output()}`);
  }
  return {
    directoryUrl,
    tlsCaPath: tls.caPath,
    process: child,
    rootPem: async () => (await fetchText(`https://127.0.0.1:${managementPort}/roots/0`, ca)).body,
    stop: async () => {
      await child.stop('SIGTERM', 3000);
    },
  };
}
