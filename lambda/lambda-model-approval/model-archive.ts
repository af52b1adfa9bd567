/**
 * The ONNX model inside a training job's `model.tar.gz` (or the object itself when it is an `.onnx` file), chosen by
 * the model server's rule (`lambda/model-server/src/model.ts`): exactly one `.onnx` file, or `model.onnx` at the top.
 */
import { gunzipSync } from 'node:zlib';

/** Files of a (gzipped) ustar/GNU tar archive: path → bytes. Directories, links and pax headers are skipped. */
export function tarFiles(archive: Uint8Array): Map<string, Uint8Array> {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : Buffer.from(archive);
  const files = new Map<string, Uint8Array>();
  const text = (from: number, length: number) => tar.subarray(from, from + length).toString('utf8').replace(/\0.*$/s, '');
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = text(offset + 257, 6).startsWith('ustar') ? text(offset + 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100));
    const body = tar.subarray(offset + 512, offset + 512 + size);
    longName = undefined;
    if (type === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
    else if (type === '0' || type === '\0' || type === '7') files.set(name.replace(/^\.\//, ''), body);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** The `.onnx` bytes of an artifact: the file itself, or the one ONNX file of an archive; throws naming what is there. */
export function onnxModelOf(location: string, bytes: Uint8Array): Uint8Array {
  if (location.endsWith('.onnx')) return bytes;
  const files = tarFiles(bytes);
  const onnx = [...files.keys()].filter((f) => f.endsWith('.onnx') && !f.split('/').some((part) => part.startsWith('.')));
  if (onnx.length === 1) return files.get(onnx[0])!;
  if (onnx.includes('model.onnx')) return files.get('model.onnx')!;
  const seen = [...files.keys()].slice(0, 10).join(', ') || 'nothing';
  throw new Error(onnx.length > 1
    ? `${location} holds several ONNX files (${onnx.join(', ')}); keep one, or name the one to serve model.onnx at the top of the archive`
    : `${location} holds no .onnx file (it holds ${seen}); the Lambda model server serves ONNX models: export the model to ONNX in the training job`);
}
