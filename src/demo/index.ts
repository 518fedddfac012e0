export { demoWorkers, importCsv, sendEmail, writeCustomersCsv } from './workers.js';
export { runDemo } from './runDemo.js';
export type { DemoOptions, DemoSummary } from './runDemo.js';
