/**
 * The safetensors file format (huggingface/safetensors), written and read here without
 * a dependency:
 *   8 bytes   N, the header's length in bytes, unsigned 64-bit little-endian
 *   N bytes   UTF-8 JSON: {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
 *             ..., "__metadata__": {"<key>": "<string>"}}   (padded with spaces)
 *   the rest  the tensors' bytes, row-major, little-endian; offsets count from the header's end
 * Only F32 is written and read: charrnn's weights are float32.
 *
 * Reading trusts nothing in the file: the header length is checked against the file's
 * size before anything is allocated from it, every tensor's byte range against its shape
 * and the data's length, and the ranges must tile the data exactly (as the reference
 * reader requires). Every failure is one CheckpointError naming the file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFloat32LE } from '../checkpoint/checkpoint.js';
import { writeFileAtomic } from '../write-file.js';
import { CheckpointError } from '../errors.js';

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  /** In file order. */
  tensors: NamedArray[];
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
/** The reference reader's limit too: no real header comes near it. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Writes `tensors` (in order) and string `metadata` to `path`, atomically. */
export function writeSafetensors(path: string, { tensors, metadata }: SafetensorsContents): void {
  const header: Record<string, unknown> = { [METADATA_KEY]: metadata };
  let offset = 0;
  for (const { name, shape, data } of tensors) {
    if (data.length !== sizeOf(shape)) throw new Error(`${name}: ${data.length} values for shape [${shape}]`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * data.length] };
    offset += 4 * data.length;
  }
  let json = JSON.stringify(header);
  // Spaces up to a multiple of 8, so the data starts aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const bytes = Buffer.alloc(8 + headerBytes.length + offset);
  bytes.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(bytes, 8);
  let at = 8 + headerBytes.length;
  for (const { data } of tensors) {
    for (let k = 0; k < data.length; k++, at += 4) bytes.writeFloatLE(data[k], at);
  }
  writeFileAtomic(path, bytes);
}

export function readSafetensors(path: string): SafetensorsContents {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? String(err)})`);
  }
  try {
    const fail = (why: string): never => {
      throw new CheckpointError(`${path}: ${why}`);
    };
    const fileSize = fstatSync(fd).size;
    if (fileSize < 8) fail(`${fileSize} bytes: too short for a safetensors file (truncated?)`);
    const declared = readExactly(fd, 0, 8).readBigUInt64LE(0); // a BigInt: up to 2⁶⁴ - 1, compared before use
    if (declared > BigInt(Math.min(fileSize - 8, MAX_HEADER_BYTES))) {
      fail(`header length ${declared} does not fit in the file (${fileSize} bytes): not a safetensors file, or truncated`);
    }
    const headerLength = Number(declared);
    let header: unknown;
    try {
      header = JSON.parse(readExactly(fd, 8, headerLength).toString('utf8'));
    } catch {
      fail('header is not valid JSON: not a safetensors file, or corrupt');
    }
    if (!isPlainObject(header)) return fail('header is not a JSON object');
    const dataStart = 8 + headerLength;
    const entries = checkEntries(header, fileSize - dataStart, fail);
    const tensors = entries.map(({ name, shape, begin }) => ({
      name,
      shape,
      data: readFloat32LE(readExactly(fd, dataStart + begin, 4 * sizeOf(shape))),
    }));
    return { tensors, metadata: checkMetadata(header[METADATA_KEY], fail) };
  } finally {
    closeSync(fd);
  }
}

interface Entry {
  name: string;
  shape: number[];
  begin: number;
}

/** The tensors' entries in file order, each checked, and their ranges tiling `dataLength` bytes. */
function checkEntries(header: Record<string, unknown>, dataLength: number, fail: (why: string) => never): Entry[] {
  const entries: (Entry & { end: number })[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    if (!isPlainObject(entry)) fail(`tensor ${name}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (dtype !== 'F32') fail(`tensor ${name} has dtype ${JSON.stringify(dtype)}; charrnn reads only F32 (in PyTorch: tensor.float())`);
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of sizes`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount))
      fail(`tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    const [begin, end] = offsets as number[];
    const needed = 4 * sizeOf(shape as number[]);
    if (end - begin !== needed)
      fail(`tensor ${name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, shape [${shape}] needs ${needed}`);
    if (end > dataLength) fail(`tensor ${name} ends at byte ${end} of the data, which has ${dataLength}: truncated file`);
    entries.push({ name, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin);
  let covered = 0;
  for (const { name, begin, end } of entries) {
    if (begin !== covered) fail(`tensor ${name} starts at byte ${begin} of the data, expected ${covered}: tensors overlap or leave a gap`);
    covered = end;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} bytes after the last tensor's data: not a well-formed safetensors file`);
  return entries;
}

function checkMetadata(metadata: unknown, fail: (why: string) => never): Record<string, string> {
  if (metadata === undefined) return {};
  if (!isPlainObject(metadata) || !Object.values(metadata).every((v) => typeof v === 'string'))
    fail(`${METADATA_KEY} must map names to strings`);
  return metadata as Record<string, string>;
}

/** `length` bytes at `position`; the caller has checked that the file holds them. */
function readExactly(fd: number, position: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, position + done);
    if (n === 0) throw new CheckpointError(`file shrank while being read`);
    done += n;
  }
  return bytes;
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
