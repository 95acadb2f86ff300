/**
 * Suites that need real Redis or PostgreSQL wrap themselves in these; test/support/service-check.ts
 * (jest's globalSetup) decided whether the servers answer.
 */
export { redisUrl, databaseUrl } from './service-check';

/** `describe` when Redis answers, `describe.skip` otherwise. */
export const describeWithRedis: jest.Describe = process.env.TESSERA_TEST_REDIS_UP === '1' ? describe : describe.skip;
/** `describe` when PostgreSQL answers, `describe.skip` otherwise. */
export const describeWithPostgres: jest.Describe = process.env.TESSERA_TEST_POSTGRES_UP === '1' ? describe : describe.skip;
