import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCertbot } from '../helpers/certbot.js';
import { startPebble, type TestPebble } from '../helpers/pebble.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

describe('canary: real certbot 2.1 against pebble', () => {
  let temp: TempDir;
  let pebble: TestPebble;
  let certbot: TestCertbot;

  beforeAll(async () => {
    temp = await makeTempDir('certbot');
    pebble = await startPebble(temp.path);
    certbot = new TestCertbot(pebble, temp.path);
  });

  afterAll(async () => {
    await pebble?.stop();
    await temp?.remove();
  });

  it('issues a lineage whose four live links point at version 1', async () => {
    await certbot.issue({ name: 'site', domains: ['site.example.com', 'www.site.example.com'], keyType: 'rsa' });
    expect(await certbot.linkVersions('site')).toEqual({ cert: 1, privkey: 1, chain: 1, fullchain: 1 });
    expect((await readdir(join(certbot.liveDir, 'site'))).sort()).toEqual([
      'README', 'cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem',
    ]);
  });

  it('renews it: the links flip to version 2 and the serial changes', async () => {
    const before = await certbot.liveSerial('site');
    await certbot.renew(['site']);
    expect(await certbot.linkVersions('site')).toEqual({ cert: 2, privkey: 2, chain: 2, fullchain: 2 });
    expect(await certbot.liveSerial('site')).not.toBe(before);
  });
});
