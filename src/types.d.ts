/** pino's browser build (used on Workers, src/log-worker.ts) has no declarations of its own. */
declare module 'pino/browser.js' {
  const pino: unknown;
  export default pino;
}
