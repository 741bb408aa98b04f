/**
 * Writes N synthetic lineages (ECDSA P-256, two names each) in Certbot's layout, at archive version V, flipping the
 * live links as Certbot does: for profiling hotcert against many lineages by hand.
 * Usage: node dist-bench/bench/make-lineages.js <letsencrypt dir> <N> <version>
 */
import { forEachLimited, makeIssuer, writeSyntheticLineage, lineageNames } from '../test/helpers/synthetic-lineages.js';

const [dir, count, version] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1)];
if (!dir || !(count > 0) || !(version > 0)) {
  console.error('usage: make-lineages <letsencrypt dir> <N> <version>');
  process.exitCode = 64;
} else {
  const issuer = await makeIssuer();
  const names = lineageNames(count);
  await forEachLimited(names, 16, (name) => writeSyntheticLineage(dir, issuer, name, version));
}
