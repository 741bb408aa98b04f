import { readFile } from 'node:fs/promises';
import { parseConfigText } from '../../../src/config/load-config.js';

// The example documents the defaults: it must stay valid and say exactly what an empty file means.
describe('config/hotcert.example.yaml', () => {
  it('is valid and equals the defaults', async () => {
    const text = await readFile(new URL('../../../config/hotcert.example.yaml', import.meta.url), 'utf8');
    expect(parseConfigText(text, 'hotcert.example.yaml', {})).toEqual(parseConfigText('', 'empty', {}));
  });

  it('names every environment override the loader knows', async () => {
    const text = await readFile(new URL('../../../config/hotcert.example.yaml', import.meta.url), 'utf8');
    const { ENV_OVERRIDES, TARGET_RUNTIME_ENV } = await import('../../../src/config/env-overrides.js');
    for (const name of [...ENV_OVERRIDES.map((entry) => entry.name), TARGET_RUNTIME_ENV, 'HOTCERT_CONFIG']) {
      expect(text).toContain(name);
    }
  });
});
