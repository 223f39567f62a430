import { describe, expect, it } from 'vitest';
import { Coalescer } from '../src/paging/coalesce';

/** Group commit for the sender's and the webhooks' small writes (src/paging/coalesce.ts). */
describe('Coalescer', () => {
  function recorder(opts: { maxItems: number; maxInFlight: number; lingerMs?: number; defer?: { while: () => boolean; maxMs: number } } = { maxItems: 3, maxInFlight: 1 }, failBatch = false) {
    const batches: number[][] = [];
    const singles: number[] = [];
    let release: () => void = () => undefined;
    let gate: Promise<void> | null = null;
    const c = new Coalescer<number, string>(
      async (items) => {
        batches.push(items);
        if (gate) await gate;
        if (failBatch) throw new Error('batch failed');
        return items.map((i) => `b${i}`);
      },
      async (i) => {
        singles.push(i);
        if (i === 13) throw new Error('thirteen');
        return `s${i}`;
      },
      opts,
    );
    return { c, batches, singles, hold: () => (gate = new Promise<void>((r) => (release = r))), release: () => release() };
  }

  it('records an item alone at once, on its own', async () => {
    const r = recorder();
    expect(await r.c.add(1)).toBe('s1');
    expect(r.batches).toEqual([]);
    expect(r.singles).toEqual([1]);
  });

  it('records what arrives together in one batch, at most maxItems each, results in order', async () => {
    const r = recorder();
    const out = await Promise.all([1, 2, 3, 4, 5].map((i) => r.c.add(i)));
    expect(out).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
    expect(r.batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('while a batch runs, what arrives waits and goes in the next batch', async () => {
    const r = recorder({ maxItems: 10, maxInFlight: 1 });
    r.hold();
    const first = Promise.all([r.c.add(1), r.c.add(2)]);
    await new Promise((res) => setImmediate(res));
    const later = Promise.all([r.c.add(3), r.c.add(4), r.c.add(5)]);
    await new Promise((res) => setImmediate(res));
    expect(r.batches).toEqual([[1, 2]]);
    r.release();
    expect(await first).toEqual(['b1', 'b2']);
    expect(await later).toEqual(['b3', 'b4', 'b5']);
    expect(r.batches).toEqual([[1, 2], [3, 4, 5]]);
  });

  it('when a batch fails, each of its items is tried alone: one bad item fails only itself', async () => {
    const r = recorder({ maxItems: 10, maxInFlight: 1 }, true);
    const out = await Promise.allSettled([12, 13, 14].map((i) => r.c.add(i)));
    expect(out.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual(['s12', 'thirteen', 's14']);
    expect(r.singles).toEqual([12, 13, 14]);
  });

  describe('lingerMs: items that come apart, within the linger, share a batch', () => {
    const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

    it('an item added a few milliseconds after the first goes in its batch', async () => {
      const r = recorder({ maxItems: 10, maxInFlight: 1, lingerMs: 500 });
      const a = r.c.add(1);
      await sleep(5);
      const b = r.c.add(2);
      expect(await Promise.all([a, b])).toEqual(['b1', 'b2']);
      expect(r.batches).toEqual([[1, 2]]);
      expect(r.singles).toEqual([]);
    });

    it('without a linger the same two go one at a time', async () => {
      const r = recorder({ maxItems: 10, maxInFlight: 1 });
      const a = r.c.add(1);
      await sleep(5);
      const b = r.c.add(2);
      expect(await Promise.all([a, b])).toEqual(['s1', 's2']);
      expect(r.batches).toEqual([]);
    });

    it('an item alone goes once the linger is over, not later', async () => {
      const r = recorder({ maxItems: 10, maxInFlight: 1, lingerMs: 200 });
      const t = performance.now();
      expect(await r.c.add(7)).toBe('s7');
      const waited = performance.now() - t;
      expect(waited).toBeGreaterThanOrEqual(150); // a timer may fire a little early against a clock read before it
      expect(waited).toBeLessThan(5_000);
    });

    it('a full batch does not wait for the linger', async () => {
      const r = recorder({ maxItems: 3, maxInFlight: 1, lingerMs: 60_000 });
      const out = await Promise.all([1, 2, 3].map((i) => r.c.add(i)));
      expect(out).toEqual(['b1', 'b2', 'b3']);
    });

    it('what is left over a full batch does not wait for the linger either', async () => {
      const r = recorder({ maxItems: 3, maxInFlight: 1, lingerMs: 60_000 });
      const out = await Promise.all([1, 2, 3, 4, 5].map((i) => r.c.add(i)));
      expect(out).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
      expect(r.batches).toEqual([[1, 2, 3], [4, 5]]);
    });

    it('items that waited while a batch ran do not linger again once it ends', async () => {
      const r = recorder({ maxItems: 10, maxInFlight: 1, lingerMs: 300 });
      r.hold();
      const first = Promise.all([r.c.add(1), r.c.add(2)]);
      await sleep(400); // the first batch starts after its linger, and is held
      expect(r.batches).toEqual([[1, 2]]);
      const later = Promise.all([r.c.add(3), r.c.add(4)]);
      await sleep(400); // 3 and 4 have now waited longer than the linger
      r.release();
      await first;
      const t = performance.now();
      expect(await later).toEqual(['b3', 'b4']);
      expect(performance.now() - t).toBeLessThan(200); // not another 300
    });
  });

  it('gives way while told to (SOS intake in flight): items wait, then go together when the pressure ends', async () => {
    let busy = true;
    const r = recorder({ maxItems: 10, maxInFlight: 1, defer: { while: () => busy, maxMs: 5_000 } });
    const first = r.c.add(1);
    await new Promise((res) => setTimeout(res, 60));
    const second = r.c.add(2);
    await new Promise((res) => setTimeout(res, 60));
    expect(r.batches).toEqual([]);
    expect(r.singles).toEqual([]);
    busy = false;
    expect(await Promise.all([first, second])).toEqual(['b1', 'b2']);
    expect(r.batches).toEqual([[1, 2]]);
  });

  it('gives way at most defer.maxMs: under pressure that never ends, items still go', async () => {
    const r = recorder({ maxItems: 10, maxInFlight: 1, defer: { while: () => true, maxMs: 100 } });
    const t = performance.now();
    expect(await r.c.add(7)).toBe('s7');
    const waited = performance.now() - t;
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(1_000);
  });

  it('does not wait when nothing presses', async () => {
    const r = recorder({ maxItems: 10, maxInFlight: 1, defer: { while: () => false, maxMs: 5_000 } });
    const t = performance.now();
    expect(await r.c.add(3)).toBe('s3');
    expect(performance.now() - t).toBeLessThan(500);
  });
});
