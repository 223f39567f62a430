import type { Principal } from '../auth/principal';
import type { Deps } from '../deps';
import type { Logger } from '../log';

export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    deps: Deps;
    principal?: Principal;
  };
}
