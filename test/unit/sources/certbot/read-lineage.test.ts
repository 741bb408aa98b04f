import { execFileSync } from 'node:child_process';
import { mkdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLineage } from '../../../../src/sources/certbot/read-lineage.js';
import { LINEAGE_FILES } from '../../../../src/sources/certbot/raw-lineage.js';
import { makeTempDir, type TempDir } from '../../../helpers/temp-dir.js';

/** Certbot's layout (storage.py): archive/<name>/<kind>N.pem, live/<name>/<kind>.pem -> ../../archive/<name>/<kind>N.pem. */
async function certbotLineage(config: string, name: string, version = 1): Promise<void> {
  await mkdir(join(config, 'archive', name), { recursive: true });
  await mkdir(join(config, 'live', name), { recursive: true });
  for (const kind of LINEAGE_FILES) {
    await writeFile(join(config, 'archive', name, `${kind}${version}.pem`), `${kind} ${version}\n`);
    await symlink(`../../archive/${name}/${kind}${version}.pem`, join(config, 'live', name, `${kind}.pem`));
  }
}

describe('readLineage: what the live links point at, resolved as the kernel does', () => {
  let temp: TempDir;
  let config: string;
  let real: string;
  beforeEach(async () => {
    temp = await makeTempDir('read-lineage-');
    config = join(temp.path, 'letsencrypt');
    await mkdir(config);
    real = await realpath(config);
  });
  afterEach(async () => {
    await temp.remove();
  });

  it('reads Certbot\'s relative links, each file by its real path', async () => {
    await certbotLineage(config, 'site', 3);
    const read = readLineage(config, real, 'site');
    for (const kind of LINEAGE_FILES) {
      expect(read.files[kind]).toEqual({ state: 'read', linkTarget: `../../archive/site/${kind}3.pem`, resolved: join(real, 'archive', 'site', `${kind}3.pem`), content: `${kind} 3\n` });
    }
  });

  it('follows a privkeyN.pem that is itself a link inside archive/ (older --reuse-key lineages)', async () => {
    await certbotLineage(config, 'site', 1);
    await writeFile(join(config, 'archive', 'site', 'cert2.pem'), 'cert 2\n');
    await symlink('privkey1.pem', join(config, 'archive', 'site', 'privkey2.pem'));
    const live = join(config, 'live', 'site');
    await rm(join(live, 'privkey.pem'));
    await symlink('../../archive/site/privkey2.pem', join(live, 'privkey.pem'));
    expect(readLineage(config, real, 'site').files.privkey).toEqual({ state: 'read', linkTarget: '../../archive/site/privkey2.pem', resolved: join(real, 'archive', 'site', 'privkey1.pem'), content: 'privkey 1\n' });
  });

  it('an archive directory that is a link to outside the config dir is outside, read nowhere', async () => {
    const elsewhere = join(temp.path, 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, 'cert1.pem'), 'stray\n');
    await mkdir(join(config, 'archive'), { recursive: true });
    await symlink(elsewhere, join(config, 'archive', 'site'));
    await mkdir(join(config, 'live', 'site'), { recursive: true });
    await symlink('../../archive/site/cert1.pem', join(config, 'live', 'site', 'cert.pem'));
    expect(readLineage(config, real, 'site').files.cert).toEqual({ state: 'outside', linkTarget: '../../archive/site/cert1.pem', resolved: join(await realpath(elsewhere), 'cert1.pem') });
  });

  it('an archive directory linked elsewhere inside the config dir is read there', async () => {
    await certbotLineage(config, 'moved', 1);
    await mkdir(join(config, 'live', 'site'), { recursive: true });
    await symlink('moved', join(config, 'archive', 'site2'));
    await symlink('../../archive/site2/cert1.pem', join(config, 'live', 'site', 'cert.pem'));
    expect(readLineage(config, real, 'site').files.cert).toMatchObject({ state: 'read', resolved: join(real, 'archive', 'moved', 'cert1.pem'), content: 'cert 1\n' });
  });

  it('a live dir that is itself a link climbs from where it really is, as the kernel does', async () => {
    // live/site -> ../other/site: "../../archive" from it lands in <config>/../archive, not <config>/archive.
    await certbotLineage(config, 'site', 1);
    await mkdir(join(temp.path, 'other', 'site'), { recursive: true });
    await mkdir(join(temp.path, 'archive', 'site'), { recursive: true });
    await writeFile(join(temp.path, 'archive', 'site', 'cert1.pem'), 'beside\n');
    await symlink('../../archive/site/cert1.pem', join(temp.path, 'other', 'site', 'cert.pem'));
    await symlink(join(temp.path, 'other', 'site'), join(config, 'live', 'linked'));
    expect(readLineage(config, real, 'linked').files.cert).toEqual({ state: 'outside', linkTarget: '../../archive/site/cert1.pem', resolved: join(await realpath(temp.path), 'archive', 'site', 'cert1.pem') });
  });

  it('a ".." after a name is taken after following that name', async () => {
    await certbotLineage(config, 'site', 1);
    await mkdir(join(temp.path, 'deep', 'down'), { recursive: true });
    await writeFile(join(temp.path, 'deep', 'cert1.pem'), 'deep\n');
    await symlink(join(temp.path, 'deep', 'down'), join(config, 'archive', 'hop'));
    const live = join(config, 'live', 'site');
    await rm(join(live, 'cert.pem'));
    await symlink('../../archive/hop/../cert1.pem', join(live, 'cert.pem'));
    expect(readLineage(config, real, 'site').files.cert).toEqual({ state: 'outside', linkTarget: '../../archive/hop/../cert1.pem', resolved: join(await realpath(temp.path), 'deep', 'cert1.pem') });
  });

  it('missing, not a link, dangling, and an absolute link inside', async () => {
    await certbotLineage(config, 'site', 1);
    const live = join(config, 'live', 'site');
    await rm(join(live, 'cert.pem'));
    await rm(join(live, 'privkey.pem'));
    await writeFile(join(live, 'privkey.pem'), 'plain file\n');
    await rm(join(live, 'chain.pem'));
    await symlink('../../archive/site/chain9.pem', join(live, 'chain.pem'));
    await rm(join(live, 'fullchain.pem'));
    await symlink(join(config, 'archive', 'site', 'fullchain1.pem'), join(live, 'fullchain.pem'));
    const read = readLineage(config, real, 'site');
    expect(read.files.cert).toEqual({ state: 'missing' });
    expect(read.files.privkey).toEqual({ state: 'not-a-link' });
    expect(read.files.chain).toEqual({ state: 'dangling', linkTarget: '../../archive/site/chain9.pem' });
    expect(read.files.fullchain).toMatchObject({ state: 'read', resolved: join(real, 'archive', 'site', 'fullchain1.pem'), content: 'fullchain 1\n' });
  });

  it('a link to a FIFO is unreadable, not waited on', async () => {
    await certbotLineage(config, 'site', 1);
    await rm(join(config, 'archive', 'site', 'cert1.pem'));
    execFileSync('mkfifo', [join(config, 'archive', 'site', 'cert1.pem')]);
    expect(readLineage(config, real, 'site').files.cert).toEqual({ state: 'unreadable', linkTarget: '../../archive/site/cert1.pem', problem: `(${join(real, 'archive', 'site', 'cert1.pem')}) is a FIFO, not a regular file` });
  });
});
