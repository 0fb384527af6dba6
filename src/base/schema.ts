/**
 * Input and output validation with any library that implements Standard
 * Schema (https://standardschema.dev): zod, valibot, arktype and others.
 * isock depends on none of them: it only calls `schema["~standard"].validate`.
 * The interface below is the one the Standard Schema specification asks
 * libraries to copy.
 *
 * @module
 */

/** A schema of any library that implements Standard Schema v1. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

/** The types of Standard Schema v1. */
export declare namespace StandardSchemaV1 {
  /** The Standard Schema properties. */
  export interface Props<Input = unknown, Output = Input> {
    /** The version of the specification: 1. */
    readonly version: 1;
    /** The library that made the schema. */
    readonly vendor: string;
    /** Validates an unknown value. */
    readonly validate: (
      value: unknown,
    ) => Result<Output> | Promise<Result<Output>>;
    /** The schema's input and output types, for inference only. */
    readonly types?: Types<Input, Output> | undefined;
  }

  /** What validation returns. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;

  /** A valid value, possibly transformed. */
  export interface SuccessResult<Output> {
    /** The value. */
    readonly value: Output;
    /** Absent on success. */
    readonly issues?: undefined;
  }

  /** An invalid value. */
  export interface FailureResult {
    /** What is wrong. */
    readonly issues: ReadonlyArray<Issue>;
  }

  /** One thing wrong with a value. */
  export interface Issue {
    /** What is wrong. */
    readonly message: string;
    /** Where, as a path of keys. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  /** One step of an issue's path. */
  export interface PathSegment {
    /** The key. */
    readonly key: PropertyKey;
  }

  /** The input and output types of a schema. */
  export interface Types<Input = unknown, Output = Input> {
    /** What the schema accepts. */
    readonly input: Input;
    /** What it produces. */
    readonly output: Output;
  }

  /** The output type of a schema. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<
    Schema["~standard"]["types"]
  >["output"];
}

/** An issue as it travels: a message and a path of plain keys. */
export interface SchemaIssue {
  /** What is wrong. */
  message: string;
  /** Where, as a path of keys (empty for the value itself). */
  path: (string | number)[];
}

/** The outcome of {@linkcode validate}: the (possibly transformed) value, or the issues. */
export type Validation =
  | { value: unknown; issues?: undefined }
  | { issues: SchemaIssue[] };

/**
 * Validates `value` with `schema`, synchronously when the schema is.
 *
 * @returns The outcome, or a promise of it for asynchronous schemas (and a
 * rejected one when the schema throws).
 */
export function validate(
  schema: StandardSchemaV1,
  value: unknown,
): Validation | Promise<Validation> {
  let result: ReturnType<StandardSchemaV1["~standard"]["validate"]>;
  try {
    result = schema["~standard"].validate(value);
  } catch (error) {
    // A schema that throws fails the call, never the connection.
    return Promise.reject(error);
  }
  return result instanceof Promise
    ? result.then(toValidation)
    : toValidation(result);
}

function toValidation(result: StandardSchemaV1.Result<unknown>): Validation {
  if (result.issues === undefined) return { value: result.value };
  return {
    issues: result.issues.map((issue) => ({
      message: String(issue.message),
      path: (issue.path ?? []).map((segment) => {
        const key = typeof segment === "object" ? segment.key : segment;
        return typeof key === "number" ? key : String(key);
      }),
    })),
  };
}

/** Describes issues in one line, for an error message. */
export function describeIssues(issues: readonly SchemaIssue[]): string {
  return issues.map((issue) =>
    issue.path.length > 0
      ? `${issue.path.join(".")}: ${issue.message}`
      : issue.message
  ).join("; ");
}

/** Whether `value` looks like a Standard Schema. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return typeof value === "object" && value !== null &&
    typeof (value as { "~standard"?: { validate?: unknown } })["~standard"]
        ?.validate === "function";
}
