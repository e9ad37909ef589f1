// A safetensors file (8-byte little-endian header length, a JSON header, then the tensors' bytes) read in
// pieces: the header parsed once, bounded and checked as untrusted input, and any set of tensors fetched
// with one coalesced getRanges as typed-array views over pooled memory, as a rank loads its slice.
import { RangepoolError } from '../errors.js';
import type { RangepoolRanges } from '../get-ranges.js';
import type { ObjectHandle } from '../open.js';
import { release } from '../pool/index.js';

/** safetensors' own bound on the header (its reference implementation refuses larger). */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPES = {
  BOOL: [1, Uint8Array],
  U8: [1, Uint8Array],
  I8: [1, Int8Array],
  F8_E4M3: [1, Uint8Array],
  F8_E5M2: [1, Uint8Array],
  U16: [2, Uint16Array],
  I16: [2, Int16Array],
  F16: [2, Uint16Array],
  BF16: [2, Uint16Array],
  U32: [4, Uint32Array],
  I32: [4, Int32Array],
  F32: [4, Float32Array],
  U64: [8, BigUint64Array],
  I64: [8, BigInt64Array],
  F64: [8, Float64Array],
} as const;

export type Dtype = keyof typeof DTYPES;
export type TensorArray = InstanceType<(typeof DTYPES)[Dtype][1]>;

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** Where its bytes are in the file (not relative to the data section, as the header states them). */
  offset: number;
  length: number;
}

export interface Tensors extends Disposable {
  /** By name, in the dtype's typed array (F16, BF16 and F8 as their raw unsigned bits). */
  readonly arrays: Record<string, TensorArray>;
  /** Returns the pooled memory behind every array at once. */
  release(): void;
}

const bad = (uri: string, what: string) => new RangepoolError('IntegrityError', `not a valid safetensors header: ${what}`, { uri });

/** Checks a parsed header against the file it came from; returns the tensors by name. */
export function checkHeader(header: unknown, dataStart: number, fileSize: number, uri: string): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad(uri, 'the header is not a JSON object');
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) throw bad(uri, '__metadata__ must map strings to strings');
      metadata = value as Record<string, string>;
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) throw bad(uri, `${JSON.stringify(name)} is not a tensor entry`);
    if (typeof t.dtype !== 'string' || !Object.hasOwn(DTYPES, t.dtype)) throw bad(uri, `${JSON.stringify(name)} has an unknown dtype`);
    const dtype = t.dtype as Dtype;
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(uri, `${JSON.stringify(name)} has a malformed shape`);
    const offsets = t.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw bad(uri, `${JSON.stringify(name)} has malformed data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const elements = shape.reduce((n: number, d: number) => n * d, 1);
    if (!Number.isSafeInteger(elements * DTYPES[dtype][0]) || end - begin !== elements * DTYPES[dtype][0]) throw bad(uri, `${JSON.stringify(name)}: data_offsets hold ${end - begin} bytes, its shape and dtype need ${elements * DTYPES[dtype][0]}`);
    if (dataStart + end > fileSize) throw bad(uri, `${JSON.stringify(name)} runs past the end of the file`);
    tensors.set(name, { dtype, shape: shape as number[], offset: dataStart + begin, length: end - begin });
  }
  return { tensors, metadata };
}

export class SafetensorsFile {
  private constructor(
    readonly handle: ObjectHandle,
    /** Every tensor the header names, with where its bytes are. */
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  /** Reads and checks the header of the file `handle` is on (a hostile or truncated one is IntegrityError). */
  static async open(handle: ObjectHandle, opts: { signal?: AbortSignal } = {}): Promise<SafetensorsFile> {
    const uri = handle.uri;
    if (handle.size < 8) throw bad(uri, `the file has ${handle.size} bytes, fewer than the 8 of the header length`);
    const prefix = await handle.read(0, 8, opts);
    const n = prefix.readBigUInt64LE(0);
    release(prefix);
    if (n > BigInt(Math.min(MAX_HEADER_BYTES, handle.size - 8))) throw bad(uri, `a header of ${n} bytes (at most ${MAX_HEADER_BYTES}, and within the file)`);
    const bytes = await handle.read(8, Number(n), opts);
    let header: unknown;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      if (!text.startsWith('{')) throw new Error('does not start with {');
      header = JSON.parse(text);
    } catch (e) {
      throw bad(uri, `the header is not JSON (${(e as Error).message.slice(0, 80)})`);
    } finally {
      release(bytes);
    }
    const { tensors, metadata } = checkHeader(header, 8 + Number(n), handle.size, uri);
    return new SafetensorsFile(handle, tensors, metadata);
  }

  /** The tensors named, fetched together (one coalesced getRanges); unknown names are InvalidArgument. */
  async read(names: readonly string[], opts: { signal?: AbortSignal; coalesce?: number } = {}): Promise<Tensors> {
    const infos = names.map((name) => {
      const info = this.tensors.get(name);
      if (!info) throw new RangepoolError('InvalidArgument', `no tensor ${JSON.stringify(name)} in the file`, { uri: this.handle.uri });
      return info;
    });
    const r: RangepoolRanges = await this.handle.readRanges(
      infos.map((t) => [t.offset, t.length] as const),
      opts,
    );
    const arrays: Record<string, TensorArray> = {};
    infos.forEach((t, i) => {
      const [size, Ctor] = DTYPES[t.dtype];
      const view = r.buffers[i]!;
      // Aligned as the file is (getRanges keeps offsets modulo 8); a file that does not align its data is copied.
      const bytes = view.byteOffset % size === 0 ? view : new Uint8Array(view);
      arrays[names[i]!] = new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, t.length / size) as TensorArray;
    });
    return { arrays, release: () => r.release(), [Symbol.dispose]: () => r.release() };
  }
}
