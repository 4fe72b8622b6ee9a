/**
 * The error-code registry. Every error hashgate reports to an operator has
 * one of these codes; docs/errors.md lists them and a test keeps the two in
 * sync both ways.
 */

export const ERROR_CODES = Object.freeze({
  HG_ERR_USAGE: 'The command line is wrong: unknown option, missing argument or bad value.',
  HG_ERR_INPUT_READ: 'An input file or stdin could not be read.',
  HG_ERR_INPUT_JSON: 'Input is not valid JSON.',
  HG_ERR_INPUT_FIELD: 'A field of the input is missing or has the wrong type, length or encoding; the message names the field.',
  HG_ERR_JOURNAL_OPEN: 'A journal file could not be opened or written.',
  HG_ERR_JOURNAL_RECORD: 'A journal line is not a valid record (bad JSON, unknown type, bad field); reported with file and line.',
  HG_ERR_JOURNAL_REFERENCE: 'A journal record refers to a session or job that the journal does not contain (or that was evicted).',
  HG_ERR_JOURNAL_TRUNCATED: 'The last line of a journal has no newline: the writer was cut off mid-record.',
  HG_ERR_JOURNAL_VERSION: 'A journal was written in a format version this hashgate does not read.',
  HG_ERR_CONFIG:
    'The `hashgate run` configuration (config file, flags, `HASHGATE_*` environment) is unreadable or invalid; the message lists every problem with its path.',
  HG_ERR_INTERNAL: 'A bug in hashgate. Please report it with the log line.',
  HG_ERR_CONNECTION_FAULT:
    'Handling one miner or pool connection threw (a bug in hashgate): that connection was closed and logged, the daemon carried on. Please report it with the log line.',
  HG_ERR_LISTEN: '`hashgate run` could not open a listen address (in use, not an address of this host, or a privileged port).',
});

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a registry code and, for input problems, the offending field's path. */
export class HashgateError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HashgateError';
    this.code = code;
    this.field = options.field;
  }
}

export function isHashgateError(e: unknown): e is HashgateError {
  return e instanceof HashgateError;
}
