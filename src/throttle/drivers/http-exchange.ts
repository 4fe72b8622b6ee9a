/**
 * One bounded HTTP request to a rig's web API (ESP-Miner/AxeOS, stock
 * Antminer CGI): its own short connection (agent off, Connection: close; an
 * ESP32 has few sockets), a deadline, a cap on the answer's size, and every
 * failure a DriverError that names the request and the address.
 */

import http from 'node:http';
import { DriverError, type DriverKind } from '../types.js';
import { describeAddress, socketErrorMessage } from './common.js';

export interface HttpExchange {
  readonly driver: DriverKind;
  readonly host: string;
  readonly port: number;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Sent as application/json when given. */
  readonly body?: string;
  readonly authorization?: string | null;
  readonly timeoutMs: number;
  /** Answers larger than this fail (a rig's JSON is a few KiB). */
  readonly maxBodyBytes: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export function httpExchange(r: HttpExchange): Promise<HttpAnswer> {
  const where = describeAddress(r.host, r.port);
  const label = `${r.method} ${r.path}`;
  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(`${label}: timed out after ${r.timeoutMs} ms at ${where}`), r.timeoutMs);
    const body = r.body ?? '';
    const headers: Record<string, string | number> = {
      accept: 'application/json',
      connection: 'close',
      'content-length': Buffer.byteLength(body),
      ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(r.authorization ? { authorization: r.authorization } : {}),
    };
    const req = http.request({ host: r.host, port: r.port, method: r.method, path: r.path, agent: false, headers });
    function fail(message: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new DriverError(r.driver, message));
    }
    req.on('error', (e) => fail(`${label}: ${socketErrorMessage(e, where)}`));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > r.maxBodyBytes) return fail(`${label}: answer from ${where} exceeds ${r.maxBodyBytes} bytes`);
        chunks.push(chunk);
      });
      res.on('error', () => fail(`${label}: ${where} closed the connection mid-answer`));
      res.on('close', () => {
        if (!res.complete) fail(`${label}: ${where} closed the connection mid-answer`);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers });
      });
    });
    req.end(body);
  });
}
