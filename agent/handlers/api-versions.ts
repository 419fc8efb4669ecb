/**
 * ApiVersions — serves v0–v4.
 *
 * The advertised list is derived from the handler registry: every registered handler with its
 * min and max version, so Weir never advertises an API it does not serve. A request at a version
 * newer than we know is answered at v0 with UNSUPPORTED_VERSION and the list, as Kafka does, so
 * the client can retry at a version we speak.
 */
import { encodeResponse } from '../../core/protocol/frame.js';
import { ApiVersions } from '../../core/protocol/generated/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler, type Handler } from '../handler.js';

let registry: ReadonlyMap<number, Handler> = new Map();

/** Called once by handlers/index.ts, which owns the registry (avoids an import cycle). */
export function setApiVersionsRegistry(r: ReadonlyMap<number, Handler>): void {
  registry = r;
}

function apiKeys() {
  return [...registry.values()]
    .sort((a, b) => a.api.apiKey - b.api.apiKey)
    .map((h) => ({ apiKey: h.api.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
}

export const apiVersionsHandler = defineHandler({
  api: ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  async handle() {
    return { errorCode: ErrorCode.NONE, apiKeys: apiKeys(), throttleTimeMs: 0 };
  },
  unsupportedVersion(header) {
    return encodeResponse(ApiVersions, 0, header.correlationId, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apiKeys() });
  },
});
