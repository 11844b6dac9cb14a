// `@carburetor/core/schemas`: the zod schemas of the wire protocol. A
// separate entry so apps that only import the config do not type-check zod.
export {
  changesInputSchema,
  clientIdSchema,
  configIdentitySchema,
  type GroupProtocol,
  groupProtocol,
} from './protocol/schemas.ts';
