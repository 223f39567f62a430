/**
 * Group commit for small writes. Each call of `add()` is one item; items that arrive while
 * `maxInFlight` batches are already running wait and go together in the next batch (at most
 * `maxItems`), so under load many items share one round trip and one commit, and alone an item
 * goes at once (or, with `lingerMs`, once it has waited that long for company). `run` answers
 * one result per item, in order.
 *
 * Should a batch fail as a whole, every item of it is tried again alone with `runOne` (the
 * batch was one transaction: nothing of it was kept), so one bad item cannot fail the others.
 *
 * With `defer`, new items wait while `defer.while()` holds, at most `defer.maxMs` after the oldest
 * of them arrived, and then go together: the pager's records of sends give way so to SOS intake
 * (Pager.intakeBusy()).
 */
/** After the I/O already waiting has been handled: setImmediate on Node; a zero timeout where there is none (Workers). */
const soon: (f: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (f) => void globalThis.setImmediate(f) : (f) => void setTimeout(f, 0);

/** How often a deferred batch looks whether the pressure is over. */
const DEFER_POLL_MS = 20;

export class Coalescer<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private run: (items: I[]) => Promise<O[]>,
    private runOne: (item: I) => Promise<O>,
    private opts: { maxItems: number; maxInFlight: number; lingerMs?: number; defer?: { while: () => boolean; maxMs: number } },
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (this.queue.length === 0) this.oldest = performance.now();
      this.queue.push({ item, resolve, reject });
      // A full batch does not wait out the linger.
      if (this.lingering && this.queue.length >= this.opts.maxItems) {
        clearTimeout(this.lingering);
        this.lingering = undefined;
        this.scheduled = false;
      }
      this.schedule();
    });
  }

  /** When the item waiting longest was added (performance.now(): a wall clock can step back or forward). */
  private oldest = -Infinity;
  private lingering?: ReturnType<typeof setTimeout>;

  private schedule() {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.lingering = undefined;
      this.dispatch();
    };
    // Items added in the same turn of the event loop (a burst of callbacks) go together. With
    // `lingerMs`, so do items added within that many milliseconds of the oldest one waiting:
    // items that come steadily but apart, such as status callbacks at a few hundred a second.
    const now = performance.now();
    let wait = this.queue.length >= this.opts.maxItems ? 0 : this.oldest + (this.opts.lingerMs ?? 0) - now;
    const defer = this.opts.defer;
    if (defer && now - this.oldest < defer.maxMs && defer.while()) {
      // Look again shortly: the wait ends when the pressure does, or at maxMs.
      wait = Math.max(wait, Math.min(DEFER_POLL_MS, this.oldest + defer.maxMs - now));
      this.lingering = setTimeout(() => {
        this.scheduled = false;
        this.lingering = undefined;
        this.schedule();
      }, wait);
      return;
    }
    if (wait > 0) this.lingering = setTimeout(go, wait);
    else soon(go);
  }

  private dispatch() {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxItems);
      this.oldest = -Infinity; // what is left (more than a batch was waiting) goes as soon as it can
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async flush(batch: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[]) {
    if (batch.length === 1) {
      const [b] = batch;
      await this.runOne(b.item).then(b.resolve, b.reject);
      return;
    }
    let results: O[];
    try {
      results = await this.run(batch.map((b) => b.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
    } catch {
      for (const b of batch) await this.runOne(b.item).then(b.resolve, b.reject);
      return;
    }
    batch.forEach((b, i) => b.resolve(results[i]));
  }
}
