/**
 * Runs once before all suites: finds out whether real Redis and PostgreSQL answer, and tells the
 * workers through environment variables (inherited by the worker processes).
 */
import { checkServices } from './service-check';

export = async function globalSetup(): Promise<void> {
  await checkServices();
};
