import type { Sql } from '../db/client';

/** How many zones and users the database holds together: the demo is seeded only where this is 0. */
export async function countZonesAndUsers(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: string }[]>`SELECT (SELECT count(*) FROM zones) + (SELECT count(*) FROM users) AS n`;
  return Number(n);
}
