import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';

describe('canary: a real HAProxy 2.6 from the harness', () => {
  let haproxy: TestHaproxy;

  beforeAll(async () => {
    haproxy = await startHaproxy();
  });

  afterAll(async () => {
    await haproxy?.stop();
  });

  it('answers "show info" on its runtime socket with its 2.6 version', async () => {
    const reply = await haproxy.command('show info');
    expect(reply).toMatch(/^Version: 2\.6\./m);
    expect(reply).toMatch(/^Pid: \d+$/m);
  });

  it('serves its default certificate in a TLS handshake', async () => {
    const served = await probeServedCertificate(haproxy.port, 'anything.example');
    expect(served.serial).toBe(haproxy.defaultCertificate?.serial);
  });

  it('knows the crt-list file it loaded', async () => {
    expect((await haproxy.command('show ssl crt-list')).split('\n')).toContain(haproxy.crtListPath);
  });
});
