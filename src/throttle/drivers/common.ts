/**
 * Helpers the firmware drivers share: how an address and a socket failure
 * read in a DriverError message. Messages are short, name the rig's address
 * and never carry credentials (the callers never pass them in).
 */

/** "10.0.0.5:4028", "[fd00::5]:80". */
export function describeAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A socket error as an operator reads it: "connection refused at 10.0.0.5:4028". */
export function socketErrorMessage(error: unknown, where: string): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused at ${where}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection reset by ${where}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${where}`;
    case '':
      return `connection to ${where} failed`;
    default:
      return `connection to ${where} failed (${code})`;
  }
}

/** A peer-supplied text cut to a length that fits a log line or error message. */
export function clip(text: string, max = 160): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max)}…`;
}

/**
 * Runs tasks one at a time, in call order (one command in flight per rig: LuxOS allows one session, and the
 * ESP32 behind AxeOS has few sockets to spare).
 */
export function createSerialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}
