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
  HG_ERR_REDIS_UNAVAILABLE:
    'The throttle could not reach Redis: connection refused or lost, authentication failed, or no reply within `throttle.redis.commandTimeoutMs`.',
  HG_ERR_REDIS_SIGNAL:
    'A queue-depth source in Redis answered something unusable: a key of another type, a stream without its consumer group, a `key` not holding an integer.',
  HG_ERR_REDIS_DATA:
    'A cap or override value in Redis is not usable and was ignored, or a stream lag had to be estimated; the reading itself still counts.',
  HG_ERR_REDIS_PUBLISH: 'Writing the throttle status hash or publishing an event to Redis failed.',
  HG_ERR_DRIVER_COMMAND:
    'A rig did not carry out a throttle command: its firmware API refused it, timed out, was unreachable or answered something hashgate cannot use.',
  HG_ERR_DRIVER_CONFIG:
    'A rig driver cannot work as configured: no address (no `host` and the rig never connected), an unreadable or empty `passwordFile`, or no profile; a Whatsminer that rejects the password or has its write API disabled.',
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
