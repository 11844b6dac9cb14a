// `@carburetor/react/devtools`: its own entry point, so an app that does not
// import it ships none of it.
export { CarburetorDevtools, type CarburetorDevtoolsProps } from './carburetor-devtools.tsx';
export type { InspectedClient } from './inspected-client.ts';
