import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log/index.js';
import type { Assets } from '../assets.js';
import type { DashboardEngine, DashboardQueries } from '../dashboardEngine.js';
import type { Live } from '../live.js';
import type { PageContext } from '../pages.js';
import type { Route } from '../routes.js';
import type { Access } from '../security.js';

/** What the handlers work with: the engine's read model, the live side, the access rules and the options. */
export interface HandlerDeps {
  readonly engine: DashboardEngine;
  readonly queries: DashboardQueries;
  readonly live: Live;
  readonly access: Access;
  readonly assets: Assets;
  readonly log: Logger;
  /** The address bound, named in a cross-site refusal when the request has no `Host`. */
  readonly host: string;
  readonly maxBodyBytes: number;
  /** Jobs per list page. */
  readonly pageSize: number;
  /** What a page needs: the footer, and the CSRF token on pages that can act (`csrf`). */
  context(csrf: boolean): PageContext;
}

/** A request whose route was found, its method allowed, and its credential (where the route needs one) checked. */
export interface RoutedRequest<R extends Route = Route> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly route: R;
}

/** Answers the routes `R` (e.g. `RouteOf<'job' | 'apiJob'>`: a page and its JSON); throws `HttpError` to refuse. */
export type Handler<R extends Route> = (deps: HandlerDeps, request: RoutedRequest<R>) => void | Promise<void>;
