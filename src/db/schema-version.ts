/**
 * The newest migration this code expects. /readyz answers 503 until the database has it. Node
 * reads sql/ at start; a Worker has no file system, so the number is kept here too, and
 * test/migrate.test.ts fails the day it and sql/ disagree.
 */
export const SCHEMA_VERSION = 15;
