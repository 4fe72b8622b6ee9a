/**
 * Small zod building blocks shared by the config schemas: every number gets
 * one refinement with its range in the message (so every problem is reported,
 * once), strict sections with a plain "must be an object" message.
 */

import * as z from 'zod';

/** What a string parser of the config (host:port, pool URL) returns: the value, or a message for the problem list. */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

// One refinement per number (not z.int(), whose failure aborts the parse and would hide the cross-field
// checks below): every problem is reported, once, with the option's range.
export function int(min: number, max: number, unit = '') {
  const msg = `must be an integer from ${min} to ${max}${unit}`;
  return z.number({ error: msg }).refine((n) => Number.isInteger(n) && n >= min && n <= max, msg);
}

export function num(min: number, max: number) {
  const msg = `must be a number from ${min} to ${max}`;
  return z.number({ error: msg }).refine((n) => n >= min && n <= max, msg);
}

export const bool = () => z.boolean({ error: 'must be true or false' });

export function parsed<T>(parse: (s: string) => ParseResult<T>, what: string) {
  return z.string({ error: `must be a string: ${what}` }).transform((s, ctx): T => {
    const r = parse(s);
    if (r.ok) return r.value;
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER;
  });
}

/** Object type errors get a plain message; unknown keys keep their issue (load.ts words those). */
export const objectError = { error: (iss: { code?: string }) => (iss.code === 'invalid_type' ? 'must be an object' : undefined) };

export const section = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.strictObject(shape, objectError).prefault({} as z.input<z.ZodObject<S>>);
