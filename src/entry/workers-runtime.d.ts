/**
 * The few Cloudflare Workers APIs src/entry/worker.ts uses, declared here rather than pulling
 * @cloudflare/workers-types into a project whose other code is typed against Node (the two sets
 * of globals clash). Shapes as documented for the Workers runtime.
 */
declare module 'cloudflare:workers' {
  export interface DurableObjectStorage {
    get<T = unknown>(key: string): Promise<T | undefined>;
    put<T>(key: string, value: T): Promise<void>;
    deleteAll(): Promise<void>;
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number | Date): Promise<void>;
    deleteAlarm(): Promise<void>;
  }
  export interface DurableObjectState {
    readonly storage: DurableObjectStorage;
    waitUntil(promise: Promise<unknown>): void;
  }
  export interface DurableObjectId {
    toString(): string;
  }
  export interface DurableObjectNamespace<T> {
    idFromName(name: string): DurableObjectId;
    get(id: DurableObjectId): { [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never };
  }
  export interface ExecutionContext {
    waitUntil(promise: Promise<unknown>): void;
    passThroughOnException(): void;
  }
  export interface ScheduledController {
    readonly scheduledTime: number;
    readonly cron: string;
  }
  export interface Hyperdrive {
    readonly connectionString: string;
  }
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}
