/**
 * The audit export as a byte stream in constant memory, whatever the range.
 *
 * Design: one reserved connection holds one REPEATABLE READ READ ONLY transaction for the whole
 * export, so every batch (incidents, their events, their trail) comes from the same snapshot:
 * an incident's row, timeline and trail always agree, and an incident resolved meanwhile is
 * exported as it was when the export started. Batches are read by keyset (opened_at, id), three
 * queries per batch, no query per incident. (A postgres.js cursor would keep its connection
 * busy with the open portal, so the per-batch event and trail queries would need a second
 * connection and a second snapshot.)
 *
 * The stream is pulled: a batch is read only when the HTTP layer asks for more bytes, which it
 * does only when the socket has drained (@hono/node-server honours backpressure), so a slow
 * client slows the export instead of filling memory. A client that goes away cancels the
 * stream, which rolls back and releases the connection; so does a client that stops reading
 * for IDLE_MS (30 s): its socket stops draining, so pull() stops being called, and a timer armed
 * whenever the export waits for the client cuts it, freeing the slot and the connection. An error after the first byte cannot change the status any more: the response is
 * cut short (no terminating chunk), which every HTTP client reports as an incomplete transfer.
 *
 * At most MAX_CONCURRENT exports run per process (each holds a pool connection throughout),
 * so exports can never take the connections that SOS intake needs: one more answers 429.
 */
import type { Sql } from '../db/client';
import { AppError } from '../errors';
import type { Logger } from '../log';
import { writerFor, type Writer } from './formats';
import type { ExportFormat } from './schemas';
import type { PublicKey } from '../timeline/checkpoints';
import { checkpointsFrom, firstCheckpointSince } from '../timeline/store';
import { exportBatch, openSnapshot, type ExportCursor, type Range, type Snapshot } from './store';

export const EXPORT_BATCH = 250;
/** Checkpoints read at a time, after the incidents. */
export const CHECKPOINT_BATCH = 500;
export const MAX_CONCURRENT = 2;
export const IDLE_MS = 30_000;

/** How long an export waits for its client to take the next chunk (tests shorten it). */
export const exportSettings = { idleMs: IDLE_MS };

const running = new WeakMap<Sql, number>();

export interface ExportOptions {
  range: Range;
  format: ExportFormat;
  /** Domain of EIDO identifiers (PUBLIC_BASE_URL's host). */
  domain: string;
  log: Logger;
  batchSize?: number;
  /** The public keys to name after the checkpoints (ndjson). */
  keys?: PublicKey[];
  /** Cut the export when the client has not asked for more for this long (default exportSettings.idleMs). */
  idleMs?: number;
  /** Awaited before each batch is read: an export gives way to SOS intake (Pager.intakeQuiet()). */
  yieldTo?: () => Promise<void>;
}

export interface OpenExport {
  stream: ReadableStream<Uint8Array>;
  writer: Writer;
}

/**
 * Start an export: the transaction is open when this returns (so a database that is down
 * answers an error, not a 200 with nothing in it); batches are read as the stream is pulled.
 */
export async function openExport(sql: Sql, o: ExportOptions): Promise<OpenExport> {
  const n = running.get(sql) ?? 0;
  if (n >= MAX_CONCURRENT) throw new AppError('rate_limited', `${n} exports are running already; retry when one has finished`);
  running.set(sql, n + 1);
  let snapshot: Snapshot | undefined;
  let closed = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const idleMs = o.idleMs ?? exportSettings.idleMs;
  const close = async (commit: boolean) => {
    if (closed) return;
    closed = true;
    if (idle) clearTimeout(idle);
    running.set(sql, Math.max(0, (running.get(sql) ?? 1) - 1));
    await snapshot?.end(commit);
  };
  try {
    // Belt and braces: the server itself ends a transaction left idle a minute past IDLE_MS.
    snapshot = await openSnapshot(sql, idleMs + 60_000);
  } catch (e) {
    await close(false);
    throw e;
  }
  const tx = snapshot.tx;
  const writer = writerFor(o.format, { domain: o.domain });
  const encoder = new TextEncoder();
  const batchSize = o.batchSize ?? EXPORT_BATCH;
  const started = performance.now();
  let cursor: ExportCursor | null = null;
  let first = true;
  // After the incidents (in the formats that carry them): every checkpoint from the first taken
  // after the range began, or that covered an exported timeline, to the newest, from the same snapshot.
  let checkpointFrom: number | null = null;
  let checkpointsStarted = false;
  let incidentsDone = false;
  let incidents = 0;
  let bytes = 0;

  // Armed whenever the export waits for its client (before the first pull, and after each chunk):
  // a client that stops reading stops the pulls, and this cuts the export.
  const armIdle = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => {
      if (closed) return;
      o.log.warn({ format: o.format, incidents, bytes, idleMs }, 'audit export abandoned: the client stopped reading');
      void close(false);
      controller.error(new Error('the client stopped reading'));
    }, idleMs);
    idle.unref?.();
  };

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      armIdle(controller);
    },
    async pull(controller) {
      if (closed) return;
      if (idle) clearTimeout(idle);
      try {
        // Enqueue something (or close) before returning: a pull that enqueues nothing is not called again.
        let text = first ? writer.head() : '';
        let finished = false;
        do {
          if (!incidentsDone) {
            await o.yieldTo?.();
            const batch = await exportBatch(tx, o.range, first ? null : cursor, batchSize, writer.needs);
            first = false;
            for (const x of batch.incidents) {
              text += writer.incident(x);
              for (const k of x.checkpointed) checkpointFrom = Math.min(checkpointFrom ?? Infinity, k.checkpointSeq);
            }
            incidents += batch.incidents.length;
            cursor = batch.next;
            incidentsDone = cursor === null;
            finished = incidentsDone && !writer.checkpoint;
          } else {
            if (!checkpointsStarted) {
              checkpointsStarted = true;
              const since = incidents > 0 ? await firstCheckpointSince(tx, o.range.from) : null;
              if (since !== null) checkpointFrom = Math.min(checkpointFrom ?? Infinity, since);
            }
            const batch = checkpointFrom === null ? [] : await checkpointsFrom(tx, checkpointFrom, CHECKPOINT_BATCH);
            for (const c of batch) text += writer.checkpoint!(c);
            if (batch.length > 0) checkpointFrom = batch[batch.length - 1].seq + 1;
            if (batch.length < CHECKPOINT_BATCH) {
              // The keys close a file that has checkpoints (an export of nothing stays empty).
              if (checkpointsStarted && checkpointFrom !== null && writer.keys && o.keys) text += writer.keys(o.keys);
              finished = true;
            }
          }
        } while (!text && !finished);
        if (finished) text += writer.tail();
        if (text) {
          const chunk = encoder.encode(text);
          bytes += chunk.byteLength;
          controller.enqueue(chunk);
        }
        if (finished) {
          await close(true);
          controller.close();
          o.log.info({ format: o.format, incidents, bytes, ms: Math.round(performance.now() - started) }, 'audit export finished');
          return;
        }
        armIdle(controller);
      } catch (e) {
        o.log.error({ err: e, format: o.format, incidents, bytes }, 'audit export failed midway; the response is cut short');
        await close(false);
        controller.error(e);
      }
    },
    async cancel() {
      if (!closed) o.log.info({ format: o.format, incidents, bytes }, 'audit export cancelled by the client');
      await close(false);
    },
  });
  return { stream, writer };
}
