/**
 * app/lib/variables.ts alone: each helper's value and the sentence it refuses a value with
 * (`NAME must be … (got "…")`), blank read as unset, defaults and `required`, secrets never
 * echoed, and a plain zod schema a team drops in still worded as one sentence.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  flag,
  got,
  integer,
  invalid,
  oneOf,
  parsed,
  readVariables,
  secret,
  text,
  url,
  variable,
  type Variables,
} from "../../app/lib/variables";

/** The value and problems of one variable `V` read from `value`. */
function read(schema: Variables[string], value: string | undefined, requiredFor?: string) {
  const { values, problems } = readVariables({ V: schema }, { V: value }, { requiredFor });
  return { value: values.V, problems, present: "V" in values };
}

describe("a value as it is shown", () => {
  it("is quoted, and shortened past 60 characters", () => {
    expect(got("abc")).toBe(' (got "abc")');
    expect(got("x".repeat(60))).toBe(` (got "${"x".repeat(60)}")`);
    expect(got("x".repeat(61))).toBe(` (got "${"x".repeat(57)}…")`);
  });
});

describe("any variable", () => {
  it("is trimmed; blank or unset takes the default, or is undefined", () => {
    expect(read(text(), "  eu  ").value).toBe("eu");
    expect(read(text({ default: "us" }), "   ").value).toBe("us");
    expect(read(text({ default: "us" }), undefined).value).toBe("us");
    expect(read(text(), " ")).toEqual({ value: undefined, problems: [], present: true });
  });

  it("required: unset is a problem, worded with the reader's reason or the option's sentence", () => {
    expect(read(text({ required: true }), "")).toEqual({
      value: undefined,
      problems: ["V is required"],
      present: false,
    });
    expect(read(text({ required: true }), undefined, "for AUTH_ADAPTER=acme").problems).toEqual([
      "V is required for AUTH_ADAPTER=acme",
    ]);
    // A sentence of its own is the whole message: the reader's reason is not added.
    expect(
      read(text({ required: "must be set in production" }), "", "for AUTH_ADAPTER=acme").problems,
    ).toEqual(["V must be set in production"]);
    // A default wins over required.
    expect(read(text({ required: true, default: "x" }), "").value).toBe("x");
  });

  it("words a value its parser refuses after the name, and hands the trimmed value to it", () => {
    const seen: string[] = [];
    const even = variable((value) => {
      seen.push(value);
      return Number(value) % 2 === 0 ? Number(value) : invalid("must be even");
    });
    expect(read(even, " 4 ").value).toBe(4);
    expect(read(even, "3")).toEqual({
      value: undefined,
      problems: ["V must be even"],
      present: false,
    });
    expect(seen).toEqual(["4", "3"]);
  });

  it("takes whatever its parser answers that is not a refusal, null included", () => {
    expect(
      read(
        variable(() => null),
        "x",
      ),
    ).toEqual({ value: null, problems: [], present: true });
    expect(
      read(
        variable(() => ({ region: "eu" })),
        "x",
      ).value,
    ).toEqual({ region: "eu" });
  });
});

describe("a secret", () => {
  it("is refused when too short, without its value in the message", () => {
    expect(read(secret({ minLength: 8 }), "hunter2").problems).toEqual([
      "V must be at least 8 characters long",
    ]);
    expect(read(secret({ minLength: 8 }), "hunter22").value).toBe("hunter22");
    expect(read(secret(), "x").value).toBe("x");
  });
});

describe("a whole number", () => {
  const seconds = integer({ min: 1, max: 60, unit: "seconds" });

  it("reads digits with an optional sign, within its bounds (both included)", () => {
    expect(read(seconds, "1").value).toBe(1);
    expect(read(seconds, "60").value).toBe(60);
    expect(read(seconds, "+7").value).toBe(7);
    expect(read(integer({}), "-7").value).toBe(-7);
    expect(read(integer({}), "007").value).toBe(7);
  });

  it("refuses anything but digits, naming the unit", () => {
    for (const value of ["1.5", "5s", "s5", "1e3", "--1", "0x10"]) {
      expect(read(seconds, value).problems).toEqual([
        `V must be a whole number of seconds (got "${value}")`,
      ]);
    }
    expect(read(integer({}), "x").problems).toEqual(['V must be a whole number (got "x")']);
  });

  it("says the bounds it is outside of, with the unit made singular for one", () => {
    expect(read(seconds, "0").problems).toEqual(['V must be between 1 and 60 seconds (got "0")']);
    expect(read(seconds, "61").problems).toEqual(['V must be between 1 and 60 seconds (got "61")']);
    expect(read(integer({ min: 1, unit: "seconds" }), "0").problems).toEqual([
      'V must be at least 1 second (got "0")',
    ]);
    expect(read(integer({ min: 2, unit: "seconds" }), "1").problems).toEqual([
      'V must be at least 2 seconds (got "1")',
    ]);
    expect(read(integer({ max: 1, unit: "seconds" }), "2").problems).toEqual([
      'V must be at most 1 second (got "2")',
    ]);
    expect(read(integer({ max: 10 }), "11").problems).toEqual(['V must be at most 10 (got "11")']);
    expect(read(integer({ min: 5 }), "3").problems).toEqual(['V must be at least 5 (got "3")']);
  });

  it("has no bound it was not given", () => {
    expect(read(integer({ min: 0 }), "999999").value).toBe(999_999);
    expect(read(integer({ max: 0 }), "-999999").value).toBe(-999_999);
  });
});

describe("one of a list", () => {
  it("takes a word of the list, and names the list otherwise", () => {
    const region = oneOf(["eu", "us", "ap"]);
    expect(read(region, "us").value).toBe("us");
    expect(read(region, "EU").problems).toEqual(['V must be eu, us or ap (got "EU")']);
    expect(read(oneOf(["eu", "us"]), "x").problems).toEqual(['V must be eu or us (got "x")']);
    expect(read(oneOf(["eu"]), "x").problems).toEqual(['V must be eu (got "x")']);
  });
});

describe("a flag", () => {
  it("is on for 1 or true, off for 0 or false (any case), and off when unset", () => {
    for (const value of ["1", "true", "TRUE", "True"]) expect(read(flag(), value).value).toBe(true);
    for (const value of ["0", "false", "FALSE"]) expect(read(flag(), value).value).toBe(false);
    expect(read(flag(), undefined).value).toBe(false);
    expect(read(flag(), "yes").problems).toEqual(['V must be 1 or 0 (got "yes")']);
  });
});

describe("a URL", () => {
  it("takes one of its schemes, and names them otherwise", () => {
    const relay = url({ protocols: ["smtp:", "smtps:"] });
    expect(read(relay, "smtps://mail.test:465").value).toBe("smtps://mail.test:465");
    expect(read(relay, "http://mail.test").problems).toEqual([
      'V must be a URL like smtp://… or smtps://… (got "http://mail.test")',
    ]);
    expect(read(relay, "not a url").problems).toEqual([
      'V must be a URL like smtp://… or smtps://… (got "not a url")',
    ]);
  });

  it("never shows a secret one", () => {
    const redis = url({ protocols: ["redis:"], secret: true });
    expect(read(redis, "http://user:pw@host").problems).toEqual(["V must be a URL like redis://…"]);
  });
});

describe("reading a set", () => {
  it("returns every value that parsed and one sentence per problem, by name", () => {
    const { values, problems } = readVariables(
      { A: integer({}), B: flag(), C: oneOf(["x"]), D: text() },
      { A: "x", B: "1", C: "y" },
    );
    expect(values).toEqual({ B: true, D: undefined });
    expect(problems).toEqual(['A must be a whole number (got "x")', 'C must be x (got "y")']);
    expect(parsed(values, "B", "D")).toBe(true);
    expect(parsed(values, "A", "B")).toBe(false);
    expect(parsed(values)).toBe(true);
  });
});

describe("a plain zod schema", () => {
  it("words a missing value as required, with the reader's reason", () => {
    expect(read(z.string(), undefined).problems).toEqual(["V is required"]);
    expect(read(z.string(), undefined, "for X=1").problems).toEqual(["V is required for X=1"]);
  });

  it("words a type it does not get, echoing the value", () => {
    expect(read(z.number() as never, "3").problems).toEqual(['V must be a number (got "3")']);
    const whole = z.string().transform(Number).pipe(z.int());
    expect(read(whole as never, "1.5").problems).toEqual(["V must be a whole number"]);
  });

  it("words lengths and sizes", () => {
    expect(read(z.string().min(3), "ab").problems).toEqual([
      'V must be at least 3 characters long (got "ab")',
    ]);
    expect(read(z.string().max(1), "ab").problems).toEqual([
      'V must be at most 1 characters long (got "ab")',
    ]);
    const number = z.string().transform(Number).pipe(z.number().min(5).max(9));
    expect(read(number as never, "3").problems).toEqual(["V must be at least 5"]);
    expect(read(number as never, "10").problems).toEqual(["V must be at most 9"]);
  });

  it("words a list of values, a format and anything else", () => {
    expect(read(z.enum(["a", "b", "c"]) as never, "d").problems).toEqual([
      'V must be a, b or c (got "d")',
    ]);
    expect(read(z.email() as never, "nope").problems).toEqual([
      'V must be a valid email (got "nope")',
    ]);
    const odd = z.string().refine((value) => value === "ok", "must be ok");
    expect(read(odd, "no").problems).toEqual(["V must be ok"]);
    const five = z.string().transform(Number).pipe(z.number().multipleOf(5));
    expect(read(five as never, "3").problems).toEqual(["V is not valid"]);
  });

  it("never echoes the value of a secret-looking name", () => {
    for (const name of [
      "SESSION_SECRETS",
      "API_KEY",
      "SMTP_PASSWORD",
      "ACCESS_TOKEN",
      "REDIS_URL",
      "api_key",
    ]) {
      const { problems } = readVariables({ [name]: z.string().min(50) }, { [name]: "hunter2" });
      expect(problems).toEqual([`${name} must be at least 50 characters long`]);
    }
  });
});
