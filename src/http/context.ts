import type { Principal, Role } from '../auth/principal';
import type { Deps } from '../deps';
import type { Logger } from '../log';

export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    deps: Deps;
    principal?: Principal;
    /**
     * A bearer token on an SOS that is not in the token cache: judged in the SOS's own call
     * (sos_open_by_token()) rather than by a lookup first. `roles`: the route's allowed roles, for an answer
     * to a request that fails before that call (see onError in src/app.ts).
     */
    deferredToken?: { hash: string; epoch: number; roles?: Role[] };
  };
}
