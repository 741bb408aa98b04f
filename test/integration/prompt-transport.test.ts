import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { waitFor } from '../helpers/wait-for.js';
import { PromptTransport } from '../../src/haproxy/prompt-transport.js';
import { fixedEndpoint } from '../../src/haproxy/runtime-address.js';
import { RuntimeClient } from '../../src/haproxy/runtime-client.js';
import { canonicalSerial } from '../../src/core/serial.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';

describeEachHaproxy('the runtime API session kept open in prompt mode (real HAProxy)', (version) => {
  let haproxy: TestHaproxy;
  let transport: PromptTransport;
  let client: RuntimeClient;

  beforeAll(async () => {
    // A short stats timeout, so that HAProxy closes an idle session within the test.
    haproxy = await startHaproxy({ version, extraGlobal: ['stats timeout 1s'] });
    transport = PromptTransport.overSocket(fixedEndpoint({ kind: 'unix', path: haproxy.socketPath }), 5000, 300);
    client = new RuntimeClient('edge', transport);
  });

  afterAll(async () => {
    transport?.close();
    await haproxy?.stop();
  });

  it('splits the replies of a ;-joined batch, one per command, found or not', async () => {
    const defaultPath = haproxy.defaultCertificate?.bundlePath as string;
    const details = await client.showCerts([defaultPath, `${haproxy.bundlesDir}/absent.pem`, defaultPath]);
    // HAProxy prints serials without leading zeros; Node's X509Certificate keeps them.
    const serial = canonicalSerial(haproxy.defaultCertificate?.serial as string);
    expect(details.map((entry) => entry?.serial)).toEqual([serial, undefined, serial]);
  });

  it('opens a new session after HAProxy closed an idle one (stats timeout)', async () => {
    const before = await client.showInfo();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await client.showInfo()).pid).toBe(before.pid);
  });

  it('follows a reload to the new worker instead of talking to the old one', async () => {
    const before = await client.showInfo();
    process.kill(haproxy.process.pid, 'SIGUSR2');
    await waitFor(async () => (await client.showInfo({ fresh: true })).pid !== before.pid, { timeoutMs: 15_000, what: 'the new worker' });
    const fresh = await client.showInfo({ fresh: true });
    await waitFor(async () => (await client.showInfo()).pid === fresh.pid, { timeoutMs: 5000, what: 'the session to reach the new worker' });
  });
});
