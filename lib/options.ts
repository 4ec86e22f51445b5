/**
 * Internal: the options of createOAuthProxy(), in parts: the defaults (`options/defaults.ts`), the
 * documented public types (`options/types.ts`, `options/provider.ts`) and the zod schema that parses them once (`options/schema.ts`).
 */
export * from './options/defaults.js';
export type * from './options/types.js';
export * from './options/schema.js';
export * from './options/apps.js';
