import { z } from '@hono/zod-openapi';

/** A signed checkpoint as exported (see checkpoints.ts for what is signed). */
export const CheckpointSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    keyId: z.string(),
    prevHash: z.string(),
    headsCount: z.number().int(),
    headsDigest: z.string(),
    hash: z.string(),
    signature: z.string().openapi({ description: 'Ed25519 over the checkpoint message, base64.' }),
    heads: z.array(z.object({ incidentId: z.uuid(), seq: z.number().int(), hash: z.string() })).optional(),
  })
  .openapi('TimelineCheckpoint', {
    description: 'Signed message: the lines `mayday-timeline-checkpoint/1`, seq, at, keyId, prevHash, headsCount, headsDigest (joined by \\n); its sha256 hex is `hash`. headsDigest is the sha256 hex of "incidentId seq hash" lines in incident id order.',
  });
