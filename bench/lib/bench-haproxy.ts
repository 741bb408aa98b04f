import { selectedHaproxyVersions, type HaproxyVersion } from '../../test/helpers/haproxy-versions.js';

/** The HAProxy series a single-target benchmark runs on: the first of HOTCERT_TEST_HAPROXY, 2.6 when it is unset. */
export function benchHaproxySeries(env: NodeJS.ProcessEnv = process.env): HaproxyVersion {
  return (env.HOTCERT_TEST_HAPROXY ?? '').trim() === '' ? '2.6' : (selectedHaproxyVersions(env)[0] as HaproxyVersion);
}
