export { routeTable } from './routeTable.js';
export type { RouteEntry } from './routeTable.js';
export type { Handler, HandlerDeps, RoutedRequest } from './handler.js';
