import PQueue from 'p-queue';

// p-queue 9 is an ES module only: this proves the jest + ts-jest ESM setup runs it for real.
describe('ES module dependencies under jest', () => {
  it('p-queue 9 runs jobs one at a time in order', async () => {
    const queue = new PQueue({ concurrency: 1 });
    const order: number[] = [];
    let active = 0;
    let maxActive = 0;
    await Promise.all(
      [1, 2, 3].map((value) =>
        queue.add(async () => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await new Promise((resolve) => setTimeout(resolve, 5));
          order.push(value);
          active -= 1;
        }),
      ),
    );
    expect(order).toEqual([1, 2, 3]);
    expect(maxActive).toBe(1);
  });
});
