export { runDashboard } from './runDashboard.js';
export type { DashboardHandle, DashboardOptions } from './runDashboard.js';
export type { DashboardEngine, DashboardQueries } from './dashboardEngine.js';
export { checkBinding, DashboardConfigError, isLoopbackHost, minTokenLength, sessionCookieName } from './security.js';
export { makeThroughputWindow, overviewOf, readDashboardState } from './overview.js';
export type { Overview, StatusCounts, Throughput, ThroughputWindow, ThroughputWindowOptions, WorkerFigures } from './overview.js';
export { ListStatuses } from './pages.js';
export type { ListStatus } from './pages.js';
