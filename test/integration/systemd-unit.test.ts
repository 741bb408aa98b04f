import { chmod, copyFile, cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOTCERT_BIN } from '../helpers/hotcert-cli.js';
import { runCommand } from '../helpers/processes.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

const UNIT = new URL('../../systemd/hotcert.service', import.meta.url);

/**
 * systemd/hotcert.service as shipped, checked by systemd's own analyzer against a root laid out as an installed
 * host: systemd's units, /bin/kill, and hotcert at the path ExecStart names (verify checks that it exists).
 */
describe('systemd/hotcert.service', () => {
  let temp: TempDir;
  let root: string;

  beforeAll(async () => {
    temp = await makeTempDir('systemd');
    root = temp.path;
    await mkdir(join(root, 'usr/lib/systemd'), { recursive: true });
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await mkdir(join(root, 'usr/local/bin'), { recursive: true });
    await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
    await cp('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    await copyFile('/usr/bin/kill', join(root, 'usr/bin/kill'));
    await symlink('usr/bin', join(root, 'bin'));
    await copyFile(HOTCERT_BIN, join(root, 'usr/local/bin/hotcert'));
    await chmod(join(root, 'usr/local/bin/hotcert'), 0o755);
  });

  afterAll(async () => {
    await temp?.remove();
  });

  async function verify(name: string, text: string) {
    await writeFile(join(root, 'etc/systemd/system', name), text);
    return runCommand('systemd-analyze', ['verify', `--root=${root}`, `/etc/systemd/system/${name}`]);
  }

  it('passes systemd-analyze verify without a warning', async () => {
    const result = await verify('hotcert.service', await readFile(UNIT, 'utf8'));
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('a unit with a mistake does not (the check can fail)', async () => {
    const broken = (await readFile(UNIT, 'utf8')).replace('Type=exec', 'Type=exec\nRestartPreventExitStatuss=78');
    const result = await verify('broken.service', broken);
    expect(result.stderr).toContain("Unknown key 'RestartPreventExitStatuss'");
  });

  it('has an exposure level of at most 2.5 in systemd-analyze security', async () => {
    const result = await runCommand('systemd-analyze', ['security', '--offline=true', `--root=${root}`, '/etc/systemd/system/hotcert.service']);
    const level = Number(/Overall exposure level for hotcert\.service: ([\d.]+)/.exec(result.stdout)?.[1]);
    expect(level).toBeLessThanOrEqual(2.5);
  });

  it('restarts on failure but not on a bad configuration, reloads with SIGHUP, wants HAProxy without requiring it', async () => {
    const unit = await readFile(UNIT, 'utf8');
    const settings = new Map(unit.split('\n').filter((line) => /^\w+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    expect(settings.get('Restart')).toBe('on-failure');
    expect(settings.get('RestartPreventExitStatus')).toBe('78');
    expect(settings.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(settings.get('Wants')).toBe('haproxy.service');
    expect(settings.has('Requires')).toBe(false);
    expect(settings.get('ExecStart')).toBe('/usr/local/bin/hotcert run --config /etc/hotcert/hotcert.yaml');
    // V8 needs writable and executable pages: MemoryDenyWriteExecute kills Node.
    expect(settings.has('MemoryDenyWriteExecute')).toBe(false);
  });
});
