import { get } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { startHotcertRun } from '../helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../helpers/hotcert-config.js';
import type { TrackedProcess } from '../helpers/processes.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).once('error', reject);
  });
}

describe('hotcert run with metrics.listen: Prometheus metrics and /healthz', () => {
  let stack: TestStack;
  let daemon: TrackedProcess;
  let base: string;

  beforeAll(async () => {
    stack = await startStack('metrics');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = await writeHotcertConfig(stack.temp.path, {
      letsencryptDir: stack.certbot.configDir,
      haproxy: stack.haproxy,
      extraLines: [
        `metrics: { listen: "127.0.0.1:${port}" }`,
        'watch: { settleMs: 100, targetCheckIntervalMs: 300 }',
        `state: { file: ${join(stack.temp.path, 'state.json')} }`,
      ],
    });
    await stack.certbot.issue({ name: 'site', domains: ['site.test'] });
    daemon = startHotcertRun(config);
    await waitFor(() => daemon.output().includes('hotcert running'), { timeoutMs: 20_000, what: 'hotcert to start' });
  });

  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    await stack?.stop();
  });

  it('exposes deploys, expiry, queue depth and target state', async () => {
    const { status, body } = await fetchText(`${base}/metrics`);
    expect(status).toBe(200);
    expect(body).toContain('hotcert_deploys_total{target="edge",outcome="added"} 1');
    const notAfter = Number(/hotcert_certificate_not_after_seconds\{lineage="site",target="edge"\} (\d+)/.exec(body)?.[1]);
    expect(notAfter * 1000).toBeGreaterThan(Date.now() + 80 * 86_400_000);
    expect(body).toContain('hotcert_queue_depth{target="edge"} 0');
    expect(body).toContain('hotcert_target_up{target="edge"} 1');
    expect(body).toMatch(/hotcert_last_full_sync_timestamp_seconds \d+/);
    const lastSuccess = Number(/hotcert_last_successful_sync_timestamp_seconds (\d+)/.exec(body)?.[1]);
    expect(Math.abs(lastSuccess * 1000 - Date.now())).toBeLessThan(120_000);
    expect(body).not.toMatch(/BEGIN|PRIVATE/);
    // The checks that changed nothing are counted apart from deploys; the process and build are there too.
    expect(body).toMatch(/^hotcert_build_info\{version="\d+\.\d+\.\d+"\} 1$/m);
    expect(body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(body).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(body).toContain('hotcert_in_sync{lineage="site",target="edge"} 1');
    expect(body).toContain('hotcert_source_watching{source="certbot"} 1');
    expect(body).not.toMatch(/hotcert_deploys_total\{[^}]*outcome="unchanged"/);
  });

  it('SIGHUP is a reload: counters survive it, the log says the configuration was reloaded, the resync is labelled so', async () => {
    const before = (await fetchText(`${base}/metrics`)).body;
    expect(before).toContain('hotcert_deploys_total{target="edge",outcome="added"} 1');
    const mark = daemon.output().length;
    process.kill(daemon.pid, 'SIGHUP');
    await waitFor(() => /full resync reason="configuration reloaded"/.test(daemon.output().slice(mark)), { timeoutMs: 20_000, what: 'the resync after the reload' });
    expect(daemon.output().slice(mark)).toMatch(/configuration reloaded; resyncing every target/);
    expect(daemon.output().slice(mark)).not.toMatch(/reason=start/);
    await waitFor(async () => (await fetchText(`${base}/metrics`)).status === 200, { timeoutMs: 10_000, what: 'metrics after the reload' });
    const after = (await fetchText(`${base}/metrics`)).body;
    expect(after).toContain('hotcert_deploys_total{target="edge",outcome="added"} 1');
    expect(after).toMatch(/hotcert_checks_total\{target="edge",outcome="unchanged"\} [1-9]/);
  });

  it('/healthz says 503 with the target while HAProxy is down, and 200 when it is back', async () => {
    expect(await fetchText(`${base}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    await stack.haproxy.process.stop('SIGTERM');
    await waitFor(async () => (await fetchText(`${base}/healthz`)).status === 503, { timeoutMs: 10_000, what: '/healthz to report the target down' });
    expect((await fetchText(`${base}/healthz`)).body).toBe('targets down: edge\n');
    await stack.haproxy.restart();
    await waitFor(async () => (await fetchText(`${base}/healthz`)).status === 200, { timeoutMs: 10_000, what: '/healthz to recover' });
  });
});
