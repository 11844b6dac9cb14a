/** The `inject` key under which the global setup hands tests the admin URL. */
export const ADMIN_URL_KEY = 'carburetorTestAdminUrl';

/** The `inject` key for this run's id, a prefix of every database it creates. */
export const RUN_ID_KEY = 'carburetorTestRunId';

/** The environment fallback for `ADMIN_URL_KEY`, for code that cannot call `inject`. */
export const ADMIN_URL_ENV = 'CARBURETOR_TEST_ADMIN_URL';

/** The environment fallback for `RUN_ID_KEY`. */
export const RUN_ID_ENV = 'CARBURETOR_TEST_RUN_ID';

/** The `inject` key under which the Redis global setup hands tests its URL. */
export const REDIS_URL_KEY = 'carburetorTestRedisUrl';

/** The environment fallback for `REDIS_URL_KEY`. */
export const REDIS_URL_ENV = 'CARBURETOR_TEST_REDIS_URL';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test run's PostgreSQL server (database `postgres` or DATABASE_URL's). */
    carburetorTestAdminUrl: string;
    /** Short id of this test run; test databases are named `cb_<runId>_...`. */
    carburetorTestRunId: string;
    /** URL of the test run's Redis (`redis-global-setup`, or REDIS_URL). */
    carburetorTestRedisUrl: string;
  }
}
