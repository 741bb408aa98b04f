import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertbotWatcher } from '../../../../src/sources/certbot/certbot-watcher.js';
import type { WatchState } from '../../../../src/sources/source.js';
import { makeTempDir, type TempDir } from '../../../helpers/temp-dir.js';
import { waitFor } from '../../../helpers/wait-for.js';

// Certbot's own steps (DESIGN.md §2), made on a real directory: what the watcher reports of each.
describe('CertbotWatcher on a real config dir', () => {
  let temp: TempDir;
  let le: string;
  let watcher: CertbotWatcher;
  let changes: string[];
  let rescans: string[];
  let states: WatchState[];

  beforeEach(async () => {
    temp = await makeTempDir('watcher');
    le = join(temp.path, 'letsencrypt');
    await mkdir(join(le, 'renewal'), { recursive: true });
    changes = [];
    rescans = [];
    states = [];
    watcher = new CertbotWatcher({ letsencryptDir: le, pollMs: 1000, retryMs: [1000, 1000] }, {
      onChange: (name) => changes.push(name),
      onRescan: (reason) => rescans.push(reason),
      onWatchState: (state) => states.push(state),
    });
    await watcher.start();
  });

  afterEach(async () => {
    await watcher.stop();
    await temp.remove();
  });

  it('holds one watch per directory that exists (not one per lineage)', () => {
    expect(states).toEqual([{ kind: 'watching', watches: 2 }]);
  });

  it('a live/ that appears later is watched, and everything is looked at', async () => {
    await mkdir(join(le, 'live'));
    await waitFor(() => rescans.some((reason) => reason.endsWith('/live appeared')), { timeoutMs: 5000, what: 'the rescan' });
    await waitFor(() => watcher.state.kind === 'watching' && watcher.state.watches === 3, { timeoutMs: 5000, what: 'three watches' });
    await mkdir(join(le, 'live', 'site'));
    await waitFor(() => changes.includes('site'), { timeoutMs: 5000, what: 'the new lineage' });
  });

  it('a renewal conf replaced atomically, and Certbot\'s lock going away, name the lineage', async () => {
    await writeFile(join(le, '.certbot.lock'), '');
    await writeFile(join(le, 'renewal', '.tmp'), 'x');
    await rename(join(le, 'renewal', '.tmp'), join(le, 'renewal', 'site.conf'));
    await waitFor(() => changes.includes('site'), { timeoutMs: 5000, what: 'the renewal' });
    const before = changes.length;
    await rm(join(le, '.certbot.lock'));
    await waitFor(() => changes.length > before && changes[changes.length - 1] === 'site', { timeoutMs: 5000, what: 'the look after Certbot finished' });
    expect(changes).not.toContain('.tmp');
  });

  it('a hostile name or a symlinked lineage is reported at once, for the daemon to refuse', async () => {
    await mkdir(join(le, 'live'));
    await waitFor(() => watcher.state.kind === 'watching' && watcher.state.watches === 3, { timeoutMs: 5000, what: 'three watches' });
    await mkdir(join(le, 'live', 'bad;name'));
    await symlink('/tmp', join(le, 'live', 'linked'));
    await waitFor(() => changes.includes('bad;name') && changes.includes('linked'), { timeoutMs: 5000, what: 'both names' });
  });
});
