import { mapLimit, mapLimitSettled } from './mapLimit';

const tick = () => new Promise(resolve => setImmediate(resolve));

describe('mapLimit', () => {
  it('keeps the order and never runs more than `limit` calls at once', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async n => {
      running++;
      most = Math.max(most, running);
      for (let i = 0; i < n; i++) await tick();
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it('rejects with the first failure', async () => {
    await expect(
      mapLimit([1, 2, 3], 3, async n => {
        if (n === 2) throw new Error('two');
        return n;
      }),
    ).rejects.toThrow('two');
  });

  it('settles every item with mapLimitSettled', async () => {
    const out = await mapLimitSettled([1, 2, 3], 1, async n => {
      if (n === 2) throw new Error('two');
      return n;
    });
    expect(out).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: new Error('two') },
      { status: 'fulfilled', value: 3 },
    ]);
  });
});
