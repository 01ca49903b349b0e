import { z } from "zod";

/**
 * Environment variables as zod schemas that read `string | undefined` and say what is wrong
 * in a sentence. The configuration (app/config.server.ts) and every adapter module declare
 * their variables with these helpers; {@link readVariables} parses a set of them and words
 * each problem as `NAME must be … (got "…")`.
 *
 * @example
 * const variables = {
 *   ACME_API_KEY: text({ required: true }),
 *   ACME_TIMEOUT_MS: integer({ default: 5000, min: 100, max: 60_000, unit: "milliseconds" }),
 *   ACME_REGION: oneOf(["eu", "us"], { default: "eu" }),
 * };
 */
export type Variable<T> = z.ZodType<T, string | undefined>;

/** A set of variables, by name. A plain zod schema of `string | undefined` works too. */
export type Variables = Record<string, Variable<unknown>>;

/** The parsed values of a set of variables. */
export type Values<V extends Variables> = { [K in keyof V]: z.output<V[K]> };

/**
 * Values as the cross-field checks see them: a variable that failed to parse is absent
 * (its problem is already reported), so a check tests {@link parsed} before it compares.
 */
export type PartialValues<V extends Variables> = Partial<Values<V>>;

const INVALID = Symbol("invalid");

/** What a parse function returns for a value it refuses: the rest of the sentence. */
export interface Invalid {
  readonly [INVALID]: string;
}

/** Refuse a value: `message` follows the variable's name, e.g. "must be a port number". */
export function invalid(message: string): Invalid {
  return { [INVALID]: message };
}

function isInvalid(value: unknown): value is Invalid {
  return typeof value === "object" && value !== null && INVALID in value;
}

/** ` (got "abc")`, shortened; never used for secrets. */
export function got(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}…` : value;
  return ` (got ${JSON.stringify(shown)})`;
}

export interface VariableOptions<T> {
  /** Used when the variable is unset or blank. */
  default?: T;
  /**
   * Unset is a problem. `true` words it as "is required" followed by the reason the reader
   * gives (e.g. "for AUTH_ADAPTER=workos"); a string is the whole sentence after the name.
   */
  required?: true | string;
}

/** A variable with a default or `required` always has a value; otherwise it may be unset. */
export type Output<T, O> = O extends { default: unknown } | { required: true | string }
  ? T
  : T | undefined;

/**
 * The building block: `parse` sees the trimmed, non-empty value and returns the result or
 * {@link invalid}. Blank counts as unset, so `FOO=` in a `.env` takes the default.
 */
export function variable<T, O extends VariableOptions<T> = object>(
  parse: (value: string) => T | Invalid,
  options?: O,
): Variable<Output<T, O>> {
  const { default: fallback, required } = (options ?? {}) as VariableOptions<T>;
  const schema = z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      const value = raw?.trim();
      if (!value) {
        if (fallback !== undefined) return fallback;
        if (required) {
          ctx.addIssue({
            code: "custom",
            message: typeof required === "string" ? required : "is required",
            params: { required: required === true },
          });
          return z.NEVER;
        }
        return undefined;
      }
      const result = parse(value);
      if (isInvalid(result)) {
        ctx.addIssue({ code: "custom", message: result[INVALID] });
        return z.NEVER;
      }
      return result;
    });
  return schema as Variable<Output<T, O>>;
}

/** Any text, trimmed. */
export function text<O extends VariableOptions<string> = object>(
  options?: O,
): Variable<Output<string, O>> {
  return variable((value) => value, options);
}

/**
 * A secret: its value never appears in a message (the log of a failed start is read by
 * more people than the secret's owner).
 */
export function secret<O extends VariableOptions<string> & { minLength?: number } = object>(
  options?: O,
): Variable<Output<string, O>> {
  const minLength = options?.minLength ?? 0;
  return variable(
    (value) =>
      value.length < minLength ? invalid(`must be at least ${minLength} characters long`) : value,
    options,
  );
}

interface IntegerOptions extends VariableOptions<number> {
  min?: number;
  max?: number;
  /** Plural, e.g. "seconds"; words the message "a whole number of seconds". */
  unit?: string;
}

/** A whole number within bounds. */
export function integer<O extends IntegerOptions>(options: O): Variable<Output<number, O>> {
  const { min, max, unit } = options;
  const units = (n: number) => (unit ? ` ${n === 1 ? unit.replace(/s$/, "") : unit}` : "");
  return variable((value) => {
    if (!/^[+-]?\d+$/.test(value)) {
      return invalid(`must be a whole number${unit ? ` of ${unit}` : ""}${got(value)}`);
    }
    const n = Number(value);
    const outside = (min !== undefined && n < min) || (max !== undefined && n > max);
    if (!outside) return n;
    if (min !== undefined && max !== undefined) {
      return invalid(`must be between ${min} and ${max}${units(max)}${got(value)}`);
    }
    return min !== undefined
      ? invalid(`must be at least ${min}${units(min)}${got(value)}`)
      : invalid(`must be at most ${max}${units(max as number)}${got(value)}`);
  }, options);
}

/** One of a fixed list of words. */
export function oneOf<const T extends string, O extends VariableOptions<T> = object>(
  choices: readonly T[],
  options?: O,
): Variable<Output<T, O>> {
  return variable(
    (value): T | Invalid =>
      (choices as readonly string[]).includes(value)
        ? (value as T)
        : invalid(`must be ${listOf(choices)}${got(value)}`),
    options,
  );
}

/** On or off: `1`/`true` or `0`/`false`; unset is off. */
export function flag(): Variable<boolean> {
  return variable(
    (value) => {
      const word = value.toLowerCase();
      if (word === "1" || word === "true") return true;
      if (word === "0" || word === "false") return false;
      return invalid(`must be 1 or 0${got(value)}`);
    },
    { default: false },
  );
}

interface UrlOptions extends VariableOptions<string> {
  /** e.g. ["smtp:", "smtps:"]. */
  protocols: readonly string[];
  /** The URL may carry a password: its value never appears in a message. */
  secret?: boolean;
}

/** A URL with one of the given schemes. */
export function url<O extends UrlOptions>(options: O): Variable<Output<string, O>> {
  const { protocols, secret: hidden } = options;
  const schemes = listOf(protocols.map((p) => `${p}//…`));
  return variable((value) => {
    const ok = URL.canParse(value) && protocols.includes(new URL(value).protocol);
    return ok ? value : invalid(`must be a URL like ${schemes}${hidden ? "" : got(value)}`);
  }, options);
}

/** "a", "a or b", "a, b or c". */
function listOf(words: readonly string[]): string {
  // Stryker disable next-line StringLiteral: no separator is used with one word or none
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

export interface ReadOptions {
  /** Completes "is required", e.g. "for AUTH_ADAPTER=workos". */
  requiredFor?: string;
}

/**
 * Parse `variables` from `env`. Every problem is returned as a sentence that starts with the
 * variable's name; values that parsed are returned even when others did not, so that the
 * cross-field checks can still run and one message names every problem.
 */
export function readVariables<V extends Variables>(
  variables: V,
  env: Record<string, string | undefined>,
  options: ReadOptions = {},
): { values: PartialValues<V>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(variables)) {
    const result = schema.safeParse(env[name], { reportInput: true });
    if (result.success) values[name] = result.data;
    else problems.push(...result.error.issues.map((issue) => sentence(name, issue, options)));
  }
  return { values: values as PartialValues<V>, problems };
}

/** True when every named variable parsed (unset counts: it has its default or `undefined`). */
export function parsed<T extends object, K extends keyof T>(
  values: Partial<T>,
  ...names: K[]
): values is Partial<T> & Pick<T, K> {
  return names.every((name) => name in values);
}

/**
 * Words one zod issue. The helpers above give their own sentence; a plain zod schema a team
 * drops in still reads as one, without echoing values of secret-looking names.
 */
function sentence(name: string, issue: z.core.$ZodIssue, options: ReadOptions): string {
  const input = "input" in issue && typeof issue.input === "string" ? issue.input : undefined;
  const echo = input !== undefined && !/SECRET|KEY|PASS|TOKEN|URL/i.test(name) ? got(input) : "";
  switch (issue.code) {
    case "custom": {
      const required = (issue.params as { required?: boolean } | undefined)?.required;
      return required && options.requiredFor
        ? `${name} ${issue.message} ${options.requiredFor}`
        : `${name} ${issue.message}`;
    }
    case "invalid_type":
      return issue.input === undefined
        ? `${name} is required${options.requiredFor ? ` ${options.requiredFor}` : ""}`
        : `${name} must be ${issue.expected === "int" ? "a whole number" : `a ${issue.expected}`}${echo}`;
    case "too_small":
      return `${name} must be at least ${issue.minimum}${issue.origin === "string" ? " characters long" : ""}${echo}`;
    case "too_big":
      return `${name} must be at most ${issue.maximum}${issue.origin === "string" ? " characters long" : ""}${echo}`;
    case "invalid_value":
      return `${name} must be ${listOf(issue.values.map(String))}${echo}`;
    case "invalid_format":
      return `${name} must be a valid ${issue.format}${echo}`;
    default:
      return `${name} is not valid${echo}`;
  }
}
