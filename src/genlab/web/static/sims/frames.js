// Decoder of the binary frames sent by genlab/web/simulations/frames.py (layout documented
// there): "GLF1", kind u8, count u8, 2 zero bytes, step u32, meta_len u32, meta JSON (padded
// to 4), then `count` arrays: name[8], dtype u8 (1 f32, 2 u8, 3 i32), ndim u8, 2 zero bytes,
// shape u32 × ndim, payload (padded to 4). Little-endian. Payloads are viewed, not copied.

const TYPES = { 1: Float32Array, 2: Uint8Array, 3: Int32Array };
const decoder = new TextDecoder();

export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  const magic = decoder.decode(new Uint8Array(buffer, 0, 4));
  if (magic !== "GLF1") throw new Error("not a genlab frame");
  const kind = view.getUint8(4);
  const count = view.getUint8(5);
  const step = view.getUint32(8, true);
  const metaLen = view.getUint32(12, true);
  const meta = JSON.parse(decoder.decode(new Uint8Array(buffer, 16, metaLen)));
  let pos = 16 + metaLen + ((4 - (metaLen % 4)) % 4);
  const arrays = {};
  for (let i = 0; i < count; i++) {
    const nameBytes = new Uint8Array(buffer, pos, 8);
    let end = nameBytes.indexOf(0);
    if (end < 0) end = 8;
    const name = decoder.decode(nameBytes.subarray(0, end));
    const code = view.getUint8(pos + 8);
    const ndim = view.getUint8(pos + 9);
    const shape = [];
    for (let d = 0; d < ndim; d++) shape.push(view.getUint32(pos + 12 + 4 * d, true));
    pos += 12 + 4 * ndim;
    const Type = TYPES[code];
    const length = shape.reduce((a, b) => a * b, 1);
    arrays[name] = { data: new Type(buffer, pos, length), shape };
    const nbytes = length * Type.BYTES_PER_ELEMENT;
    pos += nbytes + ((4 - (nbytes % 4)) % 4);
  }
  return { kind, step, meta, arrays };
}
