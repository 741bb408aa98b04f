import { tmpdir } from 'node:os';
import { debianRoot, inRoot, rootEnv, type DebianSuite } from './debian-roots.js';
import { HOTCERT_BIN, packageRoot, type CliResult } from './hotcert-cli.js';
import { runCommand } from './processes.js';

/** Runs `/usr/bin/node ARGS` of a Debian root, the checkout (read-only) and the temp dirs at their own paths inside. */
export async function runRootNode(suite: DebianSuite, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const root = await debianRoot(suite);
  const { command, args: fullArgs } = inRoot(root, ['/usr/bin/node', ...args], [{ path: tmpdir() }, { path: packageRoot(), readOnly: true }]);
  return runCommand(command, fullArgs, { env: rootEnv(env), timeoutMs: 60_000 });
}

/**
 * The built CLI with the checkout's node_modules, run by the nodejs a Debian suite ships (trixie: 20.19, sid: 24):
 * the Node versions an operator on those systems gets from apt. Only `env` configures it.
 */
export function runHotcertInRoot(suite: DebianSuite, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runRootNode(suite, [HOTCERT_BIN, ...args], env);
}
