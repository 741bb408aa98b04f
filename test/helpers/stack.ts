import { TestCertbot } from './certbot.js';
import { startHaproxy, type HaproxyOptions, type TestHaproxy } from './haproxy.js';
import { startPebble, type TestPebble } from './pebble.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

/** What most end-to-end suites need: a temp dir, pebble, certbot writing into it, and one HAProxy. */
export interface TestStack {
  readonly temp: TempDir;
  readonly pebble: TestPebble;
  readonly certbot: TestCertbot;
  readonly haproxy: TestHaproxy;
  stop(): Promise<void>;
}

export async function startStack(name: string, haproxyOptions: HaproxyOptions = {}): Promise<TestStack> {
  const temp = await makeTempDir(name);
  const pebble = await startPebble(temp.path);
  const haproxy = await startHaproxy(haproxyOptions).catch(async (error: unknown) => {
    await pebble.stop();
    throw error;
  });
  return {
    temp,
    pebble,
    haproxy,
    certbot: new TestCertbot(pebble, temp.path),
    stop: async () => {
      await Promise.all([haproxy.stop(), pebble.stop()]);
      await temp.remove();
    },
  };
}
