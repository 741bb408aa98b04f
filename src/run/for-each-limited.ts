import PQueue from 'p-queue';

/** Runs `work` for each name with at most `limit` at once, started in order of the names; results in that order. */
export function forEachLimited<T>(names: readonly string[], limit: number, work: (name: string) => Promise<T>): Promise<T[]> {
  const queue = new PQueue({ concurrency: limit });
  return Promise.all(names.map((name) => queue.add(() => work(name))));
}
