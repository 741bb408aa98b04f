import { hostname } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { runHotcert, startHotcertRun } from '../helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../helpers/hotcert-config.js';
import type { TrackedProcess } from '../helpers/processes.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';

const FAST_WATCH = [
  'watch: { settleMs: 100, maxWaitMs: 1000, targetCheckIntervalMs: 300, notReadyAlertMs: 5000 }',
];

async function waitForOutput(daemon: TrackedProcess, pattern: RegExp, timeoutMs = 20_000, from = 0): Promise<void> {
  await waitFor(() => pattern.test(daemon.output().slice(from)) || (!daemon.isRunning() && Promise.reject(new Error(`hotcert exited:\n${daemon.output()}`))), {
    timeoutMs,
    what: `hotcert to log ${pattern}`,
  });
}

describeEachHaproxy('hotcert run: the daemon against real certbot, pebble and HAProxy', (version) => {
  let stack: TestStack;
  let second: TestHaproxy;
  let configFile: string;
  let daemon: TrackedProcess;
  const outputs: string[] = [];

  const served = async (haproxy: TestHaproxy, host: string): Promise<string> => (await probeServedCertificate(haproxy.port, host)).serial;
  const expectServedSoon = async (haproxy: TestHaproxy, lineage: string, host: string, timeoutMs = 10_000): Promise<void> => {
    const expected = await stack.certbot.liveSerial(lineage);
    await waitFor(async () => (await served(haproxy, host)) === expected, { timeoutMs, what: `${host} to serve ${expected}` });
  };

  beforeAll(async () => {
    stack = await startStack('run', { version });
    configFile = await writeHotcertConfig(stack.temp.path, {
      letsencryptDir: stack.certbot.configDir,
      haproxy: stack.haproxy,
      extraLines: [...FAST_WATCH, `state: { file: ${join(stack.temp.path, 'state.json')} }`],
    });
    await stack.certbot.issue({ name: 'early', domains: ['early.test'] });
    daemon = startHotcertRun(configFile);
    await waitForOutput(daemon, /hotcert running: first full sync attempted/);
  });

  afterAll(async () => {
    if (daemon?.isRunning()) await daemon.stop('SIGKILL');
    if (daemon) outputs.push(daemon.output());
    await second?.stop();
    await stack?.stop();
  });

  it('syncs what existed at start', async () => {
    expect(await served(stack.haproxy, 'early.test')).toBe(await stack.certbot.liveSerial('early'));
  });

  it('serves a new lineage from certbot certonly a moment after Certbot finishes (no hook)', async () => {
    await stack.certbot.issue({ name: 'fresh', domains: ['fresh.test', 'www.fresh.test'] });
    await expectServedSoon(stack.haproxy, 'fresh', 'www.fresh.test', 5000);
  });

  it('serves all 20 renewed certificates after certbot renew --force-renewal, none missed', async () => {
    const names = Array.from({ length: 20 }, (_, index) => `bulk${index}`);
    for (const name of names) await stack.certbot.issue({ name, domains: [`${name}.test`] });
    for (const name of names) await expectServedSoon(stack.haproxy, name, `${name}.test`);
    const before = await Promise.all(names.map((name) => stack.certbot.liveSerial(name)));
    await stack.certbot.renew();
    for (const [index, name] of names.entries()) {
      const now = await stack.certbot.liveSerial(name);
      expect(now).not.toBe(before[index]);
      await expectServedSoon(stack.haproxy, name, `${name}.test`);
    }
  });

  it('hotcert status --json agrees with what a TLS handshake sees', async () => {
    await waitFor(async () => (await readFile(join(stack.temp.path, 'state.json'), 'utf8')).includes('bulk19'), { what: 'the state file' });
    const result = await runHotcert(['status', '--json', '--config', configFile]);
    const report = JSON.parse(result.stdout) as { status: string; daemon: { running: boolean; pid: number; stateFound: boolean }; rows: { lineage: string; state: string; served_serial: string; serial: string; last_deploy_at?: string; days_left: number }[] };
    expect(result.code).toBe(0);
    expect(report.status).toMatch(/^HOTCERT OK - \d+ certificates in sync on 1 target; daemon running \(pid \d+\) \| certificates=\d+;;;0 /);
    expect(report.daemon).toMatchObject({ running: true, pid: daemon.pid, stateFound: true });
    for (const row of report.rows.filter((entry) => ['early', 'fresh', 'bulk7'].includes(entry.lineage))) {
      const host = row.lineage === 'fresh' ? 'fresh.test' : `${row.lineage}.test`;
      // status prints serials as HAProxy and openssl do: the serial of a TLS handshake, the same text.
      const handshake = await served(stack.haproxy, host);
      expect({ lineage: row.lineage, state: row.state, served: row.served_serial }).toEqual({ lineage: row.lineage, state: 'in-sync', served: handshake });
      expect(row.days_left).toBeGreaterThan(80);
    }
    expect(report.rows.find((row) => row.lineage === 'bulk7')?.last_deploy_at).toMatch(/^\d{4}-/);
  });

  it('a renewal made while HAProxy is down is served once HAProxy is back', async () => {
    // Marked before the stop: the daemon checks the target every 300 ms and may say it is down before stop() returns.
    const mark = daemon.output().length;
    await stack.haproxy.process.stop('SIGTERM');
    await waitForOutput(daemon, /target cannot be deployed to; retrying target=edge/, 10_000, mark);
    await stack.certbot.renew(['early']);
    await stack.haproxy.restart();
    await expectServedSoon(stack.haproxy, 'early', 'early.test');
    // Said in the log, one line per target and lineage, as an operator greps for it.
    await waitForOutput(daemon, new RegExp(`certificate deployed lineage=early target=edge outcome=deployed serial=${await stack.certbot.liveSerial('early')} `), 10_000, mark);
  });

  it('one target down does not delay another', async () => {
    second = await startHaproxy({ version });
    // A second HAProxy of its own, reached at runtime only (it cannot share the first one's crt-list file).
    const file = await writeHotcertConfig(stack.temp.path, {
      name: 'two.yaml',
      letsencryptDir: stack.certbot.configDir,
      haproxy: stack.haproxy,
      targetLines: [`  - { name: other, runtime: "unix:${second.socketPath}", crtList: ${second.crtListPath}, bundlesDir: /runtime-only, runtimeOnly: true }`],
      extraLines: [...FAST_WATCH, `state: { file: ${join(stack.temp.path, 'state.json')} }`],
    });
    await writeFile(configFile, await readFile(file, 'utf8'));
    const mark = daemon.output().length;
    process.kill(daemon.pid, 'SIGHUP');
    await waitForOutput(daemon, /hotcert running|full resync reason="configuration reloaded"/, 20_000, mark);
    await waitFor(async () => (await served(second, 'fresh.test')) === (await stack.certbot.liveSerial('fresh')), { timeoutMs: 20_000, what: 'the second target to be synced' });
    await second.process.stop('SIGTERM');
    const started = Date.now();
    await stack.certbot.renew(['fresh']);
    await expectServedSoon(stack.haproxy, 'fresh', 'fresh.test', 5000);
    expect(Date.now() - started).toBeLessThan(15_000);
    await second.restart();
    await waitFor(async () => (await served(second, 'fresh.test')) === (await stack.certbot.liveSerial('fresh')), { timeoutMs: 20_000, what: 'the second target to catch up' });
  });

  it('SIGHUP with an invalid configuration is reported and the running one kept', async () => {
    const good = await readFile(configFile, 'utf8');
    await writeFile(configFile, `${good}log: { level: loud }\n`);
    const mark = daemon.output().length;
    process.kill(daemon.pid, 'SIGHUP');
    await waitForOutput(daemon, /configuration not reloaded; the running one is kept/, 10_000, mark);
    expect(daemon.output().slice(mark)).toContain('log.level');
    await writeFile(configFile, good);
    expect(daemon.isRunning()).toBe(true);
    await stack.certbot.renew(['early']);
    await expectServedSoon(stack.haproxy, 'early', 'early.test');
  });

  it('certbot delete: reported, and the certificate left serving by default', async () => {
    const serial = await served(stack.haproxy, 'bulk18.test');
    const mark = daemon.output().length;
    await stack.certbot.delete('bulk18');
    await waitForOutput(daemon, /lineage deleted from the source; HAProxy keeps serving its certificate \(deploy\.removeDeleted takes it out\) lineage=bulk18 target=edge/, 10_000, mark);
    expect(await served(stack.haproxy, 'bulk18.test')).toBe(serial);
  });

  it('certbot delete with deploy.removeDeleted: taken out of HAProxy, the crt-list file and the bundles dir', async () => {
    const good = await readFile(configFile, 'utf8');
    await writeFile(configFile, `${good}deploy: { removeDeleted: true }\n`);
    let mark = daemon.output().length;
    process.kill(daemon.pid, 'SIGHUP');
    await waitForOutput(daemon, /full resync reason="configuration reloaded"/, 20_000, mark);
    mark = daemon.output().length;
    await stack.certbot.delete('bulk17');
    await waitForOutput(daemon, /certificate removed: its lineage was deleted from the source lineage=bulk17 target=edge/, 10_000, mark);
    const path = `${stack.haproxy.bundlesDir}/bulk17.pem`;
    expect(await stack.haproxy.command(`show ssl cert ${path}`)).toMatch(/Not found/);
    expect(await readFile(stack.haproxy.crtListPath, 'utf8')).not.toContain(path);
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await served(stack.haproxy, 'bulk17.test')).toBe(stack.haproxy.defaultCertificate?.serial);
    // The certificate of a lineage deleted before the option was on stays.
    expect(await stack.haproxy.command(`show ssl cert ${stack.haproxy.bundlesDir}/bulk18.pem`)).toMatch(/Status: Used/);
    await writeFile(configFile, good);
  });

  it('a renewal made while the daemon was stopped is served after it starts; SIGTERM exits 0 in time', async () => {
    const stoppedAt = Date.now();
    process.kill(daemon.pid, 'SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    outputs.push(daemon.output());
    await stack.certbot.renew(['bulk3']);
    await second.stop();
    daemon = startHotcertRun(configFile);
    await waitForOutput(daemon, /hotcert running/);
    expect(await served(stack.haproxy, 'bulk3.test')).toBe(await stack.certbot.liveSerial('bulk3'));
  });

  it('journald mode prefixes every line with its priority', async () => {
    process.kill(daemon.pid, 'SIGTERM');
    expect(await daemon.exited).toBe(0);
    outputs.push(daemon.output());
    daemon = startHotcertRun(configFile, { HOTCERT_LOG_FORMAT: 'journald' });
    await waitForOutput(daemon, /hotcert running/);
    process.kill(daemon.pid, 'SIGTERM');
    expect(await daemon.exited).toBe(0);
    const lines = daemon.output().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatch(/^<[3467]>/);
    outputs.push(daemon.output());
  });

  it('a second hotcert refuses to start while one runs', async () => {
    daemon = startHotcertRun(configFile);
    await waitForOutput(daemon, /hotcert running/);
    const other = await runHotcert(['run', '--config', configFile], { HOTCERT_LOG_FORMAT: 'text' });
    expect(other.code).toBe(75);
    expect(other.stderr).toContain(`another hotcert (pid ${daemon.pid} on ${hostname()}) is writing to these targets`);
    expect(other.stderr).toContain(`kill -HUP ${daemon.pid}`);
  });

  it('no private key text in anything it printed', () => {
    outputs.push(daemon.output());
    for (const output of outputs) expect(output).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  });
});
