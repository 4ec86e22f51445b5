import type { z } from 'zod';

/**
 * Internal: the compile-time link between the documented option interfaces (`types.ts`,
 * `app-config.ts`, `provider.ts`: the source of truth, the public API) and the zod schemas that
 * parse them (`fields.ts`, `schema.ts`). Every object schema of the options is written as
 * `documents<SomeConfig>()(z.object({ … }).strict())`: at run time the schema itself, at compile
 * time a `tsc` error unless the schema's input type and `SomeConfig` have exactly the same keys,
 * each optional on both sides or on neither, with types assignable both ways. The error names
 * the keys that differ (see {@link Drift}).
 */
export const documents =
  <T>() =>
  <S extends z.ZodType>(schema: S & Drift<z.input<S>, T>): S =>
    schema;

/** `true` when `A` and `B` have the same keys and each is assignable to the other. */
export type Exact<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never]
  ? [A] extends [B]
    ? [B] extends [A]
      ? true
      : false
    : false
  : false;

/** Nothing when the schema's input `I` is exactly the interface `T`; else a property that names the difference. */
export type Drift<I, T> =
  Exact<I, T> extends true
    ? unknown
    : {
        'schema and documented interface differ': {
          onlyInSchema: Exclude<keyof I, keyof T>;
          onlyInInterface: Exclude<keyof T, keyof I>;
          differentTypeOrOptionality: DifferingKeys<I, T>;
        };
      };

type DifferingKeys<I, T> = {
  [K in keyof I & keyof T]: Exact<Pick<I, K>, Pick<T, K>> extends true ? never : K;
}[keyof I & keyof T];
