/**
 * The tRPC error code a server answers a request from a config it can no
 * longer serve (protocol 3): an incompatible change was deployed. The
 * message names what changed; the app should ask the user to update. A
 * request from a config the server does not serve *yet* (a rolling deploy)
 * is answered `SERVICE_UNAVAILABLE` instead, and retried.
 */
export const UPDATE_REQUIRED_TRPC_CODE = 'PRECONDITION_FAILED';
