/**
 * UTF-8 byte length of a string without encoding it. Node's `Buffer.byteLength` where there is
 * one (native, ~30× faster on a 1 KB string than a JavaScript loop); elsewhere the same count
 * by hand, so the core still loads on runtimes without Buffer.
 */
interface NodeBuffer {
  byteLength(text: string, encoding: "utf8"): number;
}

const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;

export const utf8Length: (text: string) => number =
  nodeBuffer === undefined ? countUtf8 : (text) => nodeBuffer.byteLength(text, "utf8");

/** @internal The portable count, exported for its test. */
export function countUtf8(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
