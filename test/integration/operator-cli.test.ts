import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { HOTCERT_BIN, runHotcert } from '../helpers/hotcert-cli.js';
import { makeTestLineage, writeLineage } from '../helpers/lineage-pems.js';
import { runCommand } from '../helpers/processes.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

/** `date` days from now, as openssl ca -enddate takes it. */
function opensslDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z').slice(2);
}

/** A command line through a shell pipe, as a monitoring wrapper runs it: the first command's exit code and stderr. */
async function piped(args: string, pipe: string): Promise<{ code: string; stderr: string; stdout: string }> {
  const result = await runCommand('bash', ['-c', `"${process.execPath}" "${HOTCERT_BIN}" ${args} 2>/tmp/hotcert-pipe-$$.err | ${pipe}; code=\${PIPESTATUS[0]}; cat /tmp/hotcert-pipe-$$.err >&2; rm -f /tmp/hotcert-pipe-$$.err; exit $code`]);
  return { code: String(result.code), stderr: result.stderr, stdout: result.stdout };
}

// What an operator who lives in journalctl, Prometheus and Nagios runs, checked as they see it: exit codes, the first
// line, the words.
describe('hotcert for an operator: a monitoring plugin, one lineage at a time, honest dry runs, a CLI that helps', () => {
  let temp: TempDir;
  let haproxy: TestHaproxy;
  let le: string;
  let file: string;

  beforeAll(async () => {
    temp = await makeTempDir('operator');
    le = join(temp.path, 'letsencrypt');
    haproxy = await startHaproxy({ strictSni: true });
    for (const name of ['alpha.example', 'beta.example', 'gamma.example']) await writeLineage(le, name, await makeTestLineage([name]));
    file = join(temp.path, 'hotcert.yaml');
    await writeFile(file, [`letsencrypt: { dir: ${le} }`, `bundles: { dir: ${haproxy.bundlesDir} }`, `crtList: { file: ${haproxy.crtListPath} }`, `state: { file: ${join(temp.path, 'state.json')} }`, 'targets:', `  - { name: edge, runtime: "unix:${haproxy.socketPath}" }`, ''].join('\n'));
  });

  afterAll(async () => {
    await haproxy?.stop();
    await temp?.remove();
  });

  it('sync --dry-run says so on every line, and nothing it says reads like a deploy', async () => {
    const result = await runHotcert(['sync', '--dry-run', '--config', file], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n').map((line) => line.split('\t').slice(0, 3).join(' '))).toEqual(['alpha.example edge would add', 'beta.example edge would add', 'gamma.example edge would add']);
    expect(result.stderr).not.toMatch(/certificate (added|deployed)/);
    expect(result.stderr.match(/would add certificate dry_run=true lineage=\S+ target=edge/g)).toHaveLength(3);
    expect(result.stderr).toMatch(/sync finished: every target serves what the source holds .*dry_run=true/);
  });

  it('sync LINEAGE deploys only that one; an unknown name exits 64 naming the close ones', async () => {
    const one = await runHotcert(['sync', '--config', file, 'beta.example'], { HOTCERT_LOG_FORMAT: 'text' });
    expect(one.code).toBe(0);
    expect(one.stderr.match(/certificate added lineage=(\S+)/g)).toEqual(['certificate added lineage=beta.example']);
    const typo = await runHotcert(['sync', '--config', file, 'alpha.exmaple']);
    expect({ code: typo.code, stderr: typo.stderr }).toEqual({
      code: 64,
      stderr: 'hotcert: no such lineage: "alpha.exmaple" (did you mean "alpha.example"?)\nUsage: hotcert sync [--config FILE] [--dry-run] [--force] [LINEAGE...]\n(hotcert sync --help for more)\n',
    });
    expect((await runHotcert(['sync', '--config', file])).code).toBe(0);
  });

  it('status is a monitoring plugin: OK with perfdata, narrowed by name, and serials as openssl prints them', async () => {
    const result = await runHotcert(['status', '--config', file]);
    expect(result.code).toBe(0);
    const [first, header] = result.stdout.split('\n');
    expect(first).toMatch(/^HOTCERT OK - 3 certificates in sync on 1 target; no daemon running \| certificates=3;;;0 in_sync=3;;;0 not_in_sync=0;;1;0 expiring=0;1;;0 deleted_served=0;1;;0 min_days_left=\d+;14:;7: targets_answering=1;;;0;1$/);
    expect(header).toMatch(/^LINEAGE +TARGET +STATE +SERIAL +SERVED SERIAL +NOT AFTER +DAYS +LAST DEPLOY$/);
    const narrowed = await runHotcert(['status', '--config', file, 'gamma.example']);
    expect(narrowed.stdout.split('\n').filter((line) => line.includes('.example'))).toEqual([expect.stringMatching(/^gamma\.example +edge +in-sync +[0-9A-F]+ +[0-9A-F]+ /)]);
    const json = JSON.parse((await runHotcert(['status', '--json', '--config', file, 'alpha.example'])).stdout) as { rows: Record<string, unknown>[] };
    const row = json.rows[0] as { serial: string; served_serial: string; not_after: string; days_left: number };
    const openssl = await runCommand('openssl', ['x509', '-noout', '-serial', '-in', join(le, 'live', 'alpha.example', 'cert.pem')]);
    expect(`serial=${row.served_serial}\n`).toBe(openssl.stdout);
    expect(Object.keys(json.rows[0] as object).sort()).toEqual(['days_left', 'lineage', 'not_after', 'serial', 'served_serial', 'state', 'target']);
  });

  it('status names what expires within warnDays (WARNING) and criticalDays (CRITICAL)', async () => {
    await writeLineage(le, 'beta.example', await makeTestLineage(['beta.example'], { endDate: opensslDate(10) }), 2);
    await writeLineage(le, 'gamma.example', await makeTestLineage(['gamma.example'], { endDate: opensslDate(3) }), 2);
    expect((await runHotcert(['sync', '--config', file])).code).toBe(0);
    const result = await runHotcert(['status', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stdout.split('\n')[0]).toMatch(/^HOTCERT CRITICAL - 1 expires within 7 days \(gamma\.example on edge: 2 days\); 1 expires within 14 days \(beta\.example on edge: 9 days\); no daemon running \| /);
    await writeLineage(le, 'gamma.example', await makeTestLineage(['gamma.example']), 3);
    expect((await runHotcert(['sync', '--config', file])).code).toBe(0);
    const warning = await runHotcert(['status', '--config', file]);
    expect(warning.code).toBe(1);
    expect(warning.stdout.split('\n')[0]).toMatch(/^HOTCERT WARNING - 1 expires within 14 days \(beta\.example on edge: 9 days\)/);
  });

  it('a deleted lineage HAProxy still serves is named (it will expire unnoticed otherwise)', async () => {
    await rm(join(le, 'live', 'alpha.example'), { recursive: true });
    const result = await runHotcert(['status', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[0]).toMatch(/1 served but no longer in the source \(alpha\.example on edge\)/);
    expect(result.stdout).toMatch(/^alpha\.example +edge +deleted /m);
  });

  it('status says UNKNOWN (3) when it cannot tell: no target answers and no daemon state, or a broken configuration', async () => {
    const down = join(temp.path, 'down.yaml');
    await writeFile(down, [`letsencrypt: { dir: ${join(temp.path, 'empty')} }`, `state: { file: ${join(temp.path, 'no-state.json')} }`, `crtList: { file: ${haproxy.crtListPath} }`, 'targets:', `  - { name: edge, runtime: "unix:${join(temp.path, 'nothing.sock')}" }`, ''].join('\n'));
    const unreachable = await runHotcert(['status', '--config', down]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stdout.split('\n')[0]).toMatch(/^HOTCERT UNKNOWN - cannot tell: none of 1 target answers and no state from "hotcert run"/);
    const broken = join(temp.path, 'broken.yaml');
    await writeFile(broken, 'status: { warnDays: -1 }\n');
    const invalid = await runHotcert(['status', '--config', broken]);
    expect(invalid.code).toBe(3);
    expect(invalid.stderr).toMatch(/status\.warnDays: must be at least 0/);
    expect((await runHotcert(['status', '--bogus'])).code).toBe(3);
  });

  it('safe in a pipe: a closed stdout ends the command quietly with the exit code it would have had', async () => {
    const status = await piped(`status --config ${file}`, 'head -1');
    expect(status.stdout).toMatch(/^HOTCERT WARNING - /);
    expect({ code: status.code, stderr: status.stderr }).toEqual({ code: '1', stderr: '' });
    const json = await piped(`status --json --config ${file}`, 'head -c 20');
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: '1', stderr: '' });
    const dry = await piped(`sync --dry-run --config ${file}`, 'head -1 >/dev/null');
    expect(dry.code).toBe('0');
    expect(dry.stderr).not.toMatch(/EPIPE|unexpected error/);
  });

  it('every command has its own --help; a usage error prints that command\'s usage line, in hotcert\'s words', async () => {
    const help = await runHotcert(['status', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: hotcert status \[--config FILE\] \[--json\] \[LINEAGE\.\.\.\]\n/);
    expect(help.stdout).toContain('3 UNKNOWN');
    expect((await runHotcert(['sync', '--help'])).stdout).toMatch(/^Usage: hotcert sync /);
    expect(await runHotcert(['sync', '--config'])).toMatchObject({ code: 64, stderr: 'hotcert: --config needs a file name\nUsage: hotcert sync [--config FILE] [--dry-run] [--force] [LINEAGE...]\n(hotcert sync --help for more)\n' });
    expect(await runHotcert(['check-config', '--json'])).toMatchObject({ code: 64, stderr: expect.stringMatching(/^hotcert: --json is not an option of "check-config"\nUsage: hotcert check-config/) });
    expect(await runHotcert(['frobnicate'])).toMatchObject({ code: 64, stderr: expect.stringMatching(/^hotcert: unknown command "frobnicate"\nUsage: hotcert <command>/) });
  });

  it('a missing --config file exits 66 (EX_NOINPUT), naming it', async () => {
    const result = await runHotcert(['sync', '--config', join(temp.path, 'nowhere.yaml')], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(66);
    expect(result.stderr).toMatch(/cannot read the configuration file \S+nowhere\.yaml/);
    expect(result.stderr).toMatch(/no such file/);
  });
});
