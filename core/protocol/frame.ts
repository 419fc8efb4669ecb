/**
 * Request/response framing: the 4-byte size prefix, the versioned headers, and the body.
 * Each encode sizes header and body first and writes them into one Buffer, size prefix included,
 * so a response carrying megabytes of records is copied exactly once; encodeResponseGather and
 * encodeRequestGather do not copy the records at all (see there).
 */
import { WeirError } from '../errors.js';
import { readFrom, sizeOf, writeInto } from './codec.js';
import { compiledMessage, sizeForGather, type Codec } from './compile.js';
import { ApiKey, apisByKey } from './generated/index.js';
import { RequestHeaderSchema, type RequestHeader } from './generated/request-header.js';
import { ResponseHeaderSchema, type ResponseHeader } from './generated/response-header.js';
import { Reader } from './reader.js';
import { inVersions, type ApiSpec, type MessageSchema } from './types.js';
import { Writer } from './writer.js';

export type { RequestHeader, ResponseHeader };

/**
 * 2 for flexible request versions, else 1 (0 only for ControlledShutdown v0, which predates the
 * client id). Flexible ranges are open-ended, so a version newer than we know is assumed flexible:
 * that lets a header from a newer client still be parsed (ApiVersions must answer those).
 * Unknown api keys get 1: the header prefix common to versions 1 and 2.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  const api = apisByKey.get(apiKey);
  if (api === undefined) return 1;
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return inVersions(api.request.flexibleVersions, apiVersion) ? 2 : 1;
}

/**
 * 1 for flexible response versions, else 0. ApiVersions responses always use header v0 so that a
 * client which sent a version the broker does not support can still read the error code.
 */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const api = apisByKey.get(apiKey);
  if (api === undefined) return 0;
  return inVersions(api.response.flexibleVersions, apiVersion) ? 1 : 0;
}

/**
 * `frame` is the request without its 4-byte size prefix. Works for any api key and version (the
 * header layout only depends on them through requestHeaderVersion), so the caller can answer
 * unknown or unsupported requests; the body is decoded separately, and only if it is known.
 */
export function decodeRequestHeader(frame: Buffer): { header: RequestHeader; bodyOffset: number } {
  if (frame.length < 4) throw new WeirError('corrupt', `request frame of ${frame.length} bytes has no header`);
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const hv = requestHeaderVersion(apiKey, apiVersion);
  const r = new Reader(frame, 0, frame.length);
  const header = readFrom<RequestHeader>(compiledMessage(RequestHeaderSchema, hv), RequestHeaderSchema, hv, r);
  return { header, bodyOffset: r.pos };
}

/** Decodes a request body; throws WeirError('unsupported') for versions the spec does not define. */
export function decodeRequestBody<T>(api: ApiSpec, version: number, frame: Buffer, bodyOffset: number): T {
  const codec = compiledMessage(api.request, version);
  if (!Number.isInteger(bodyOffset) || bodyOffset < 0 || bodyOffset > frame.length) {
    throw new WeirError('corrupt', `${api.name} request body offset ${bodyOffset} outside the frame`);
  }
  return readFrom<T>(codec, api.request, version, new Reader(frame, bodyOffset, frame.length));
}

/** Returns the full response including the 4-byte size prefix. */
export function encodeResponse(api: ApiSpec, version: number, correlationId: number, body: unknown): Buffer {
  const hv = responseHeaderVersion(api.apiKey, version);
  return encodeFrame(ResponseHeaderSchema, hv, { correlationId }, api.response, version, body);
}

/**
 * The same bytes as encodeResponse, size prefix included, as segments to write in order with
 * one vectored write (socket.cork + write each + uncork, or writev): every records value (a
 * Buffer, or each piece of a Buffer[]) and every bytes value of at least GATHER_MIN_BYTES is
 * a segment of its own, by reference, and the rest are subarrays of one small structure buffer.
 * Freshly allocating and copying a multi-megabyte Fetch response costs page faults on every
 * request; this costs neither. The referenced Buffers must stay unmodified until written.
 */
export function encodeResponseGather(api: ApiSpec, version: number, correlationId: number, body: unknown): Buffer[] {
  const hv = responseHeaderVersion(api.apiKey, version);
  const frame = sizeFrame(ResponseHeaderSchema, hv, { correlationId }, api.response, version, body, true);
  const w = Writer.gathering(Buffer.allocUnsafe(4 + frame.size - frame.external));
  writeFrame(w, frame);
  return w.finishSegments();
}

/** Client side (tests, tools): the full request including the 4-byte size prefix. */
export function encodeRequest(
  api: ApiSpec,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: unknown,
): Buffer {
  const hv = requestHeaderVersion(api.apiKey, version);
  const header: RequestHeader = { requestApiKey: api.apiKey, requestApiVersion: version, correlationId, clientId };
  return encodeFrame(RequestHeaderSchema, hv, header, api.request, version, body);
}

/**
 * Client side, the request counterpart of encodeResponseGather: the same bytes as encodeRequest,
 * size prefix included, as segments to write in order (socket.cork + write each + uncork, or
 * writev), every records value (or piece of a Buffer[]) and every bytes value of at least
 * GATHER_MIN_BYTES referenced, not copied. For requests that carry megabytes of records (the
 * mirror's WeirMirrorWrite, a producer's Produce). The referenced Buffers must stay unmodified
 * until written.
 */
export function encodeRequestGather(
  api: ApiSpec,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: unknown,
): Buffer[] {
  const hv = requestHeaderVersion(api.apiKey, version);
  const header: RequestHeader = { requestApiKey: api.apiKey, requestApiVersion: version, correlationId, clientId };
  const frame = sizeFrame(RequestHeaderSchema, hv, header, api.request, version, body, true);
  const w = Writer.gathering(Buffer.allocUnsafe(4 + frame.size - frame.external));
  writeFrame(w, frame);
  return w.finishSegments();
}

/** Client side: `frame` is the response without its 4-byte size prefix. */
export function decodeResponse<T>(api: ApiSpec, version: number, frame: Buffer): { correlationId: number; body: T } {
  const hv = responseHeaderVersion(api.apiKey, version);
  const bodyCodec = compiledMessage(api.response, version);
  const r = new Reader(frame, 0, frame.length);
  const header = readFrom<ResponseHeader>(compiledMessage(ResponseHeaderSchema, hv), ResponseHeaderSchema, hv, r);
  const body = readFrom<T>(bodyCodec, api.response, version, r);
  return { correlationId: header.correlationId, body };
}

interface SizedFrame {
  headerSchema: MessageSchema;
  headerVersion: number;
  headerCodec: Codec;
  header: unknown;
  bodySchema: MessageSchema;
  version: number;
  bodyCodec: Codec;
  body: unknown;
  /** Header plus body, without the size prefix. */
  size: number;
  /** Bytes of `size` a gathering Writer references rather than writes (0 unless gathering). */
  external: number;
}

function sizeFrame(
  headerSchema: MessageSchema,
  headerVersion: number,
  header: unknown,
  bodySchema: MessageSchema,
  version: number,
  body: unknown,
  gather: boolean,
): SizedFrame {
  const headerCodec = compiledMessage(headerSchema, headerVersion);
  const bodyCodec = compiledMessage(bodySchema, version);
  const sizePass = (): number =>
    sizeOf(headerCodec, headerSchema, headerVersion, header) + sizeOf(bodyCodec, bodySchema, version, body);
  const { size, external } = gather ? sizeForGather(sizePass) : { size: sizePass(), external: 0 };
  if (size > 0x7fffffff) throw new WeirError('too_large', `${bodySchema.name} frame of ${size} bytes exceeds int32`);
  return { headerSchema, headerVersion, headerCodec, header, bodySchema, version, bodyCodec, body, size, external };
}

function writeFrame(w: Writer, f: SizedFrame): void {
  w.int32(f.size);
  writeInto(f.headerCodec, f.headerSchema, f.headerVersion, w, f.header);
  writeInto(f.bodyCodec, f.bodySchema, f.version, w, f.body);
}

function encodeFrame(
  headerSchema: MessageSchema,
  headerVersion: number,
  header: unknown,
  bodySchema: MessageSchema,
  version: number,
  body: unknown,
): Buffer {
  const frame = sizeFrame(headerSchema, headerVersion, header, bodySchema, version, body, false);
  const w = new Writer(Buffer.allocUnsafe(4 + frame.size));
  writeFrame(w, frame);
  return w.finish();
}
