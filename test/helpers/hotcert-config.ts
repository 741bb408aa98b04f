import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TestHaproxy } from './haproxy.js';

/** A hotcert config file pointing at a test's certbot config dir and HAProxy (bundles and crt-list in its dir). */
export async function writeHotcertConfig(
  dir: string,
  options: { letsencryptDir: string; haproxy: TestHaproxy; extraLines?: readonly string[]; targetLines?: readonly string[]; name?: string },
): Promise<string> {
  const file = join(dir, options.name ?? 'hotcert.yaml');
  await writeFile(
    file,
    [
      `letsencrypt: { dir: ${options.letsencryptDir} }`,
      `bundles: { dir: ${options.haproxy.bundlesDir} }`,
      `crtList: { file: ${options.haproxy.crtListPath} }`,
      'targets:',
      '  - name: edge',
      `    runtime: unix:${options.haproxy.socketPath}`,
      ...(options.targetLines ?? []),
      ...(options.extraLines ?? []),
      ...ownStateFile(file, options.extraLines ?? []),
      '',
    ].join('\n'),
  );
  return file;
}

/** A state file beside the config, unless the lines name one: no test may write the host's /var/lib/hotcert. */
export function ownStateFile(configFile: string, lines: readonly string[]): string[] {
  return lines.some((line) => line.startsWith('state:')) ? [] : [`state: { file: ${join(dirname(configFile), 'state.json')} }`];
}
