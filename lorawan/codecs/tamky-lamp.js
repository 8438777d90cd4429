// The single-luminaire LoRaWAN controller the demo simulates (firmware-sim/src/lorawan). Not a vendor device:
// real NEMA/Zhaga controllers use their vendor's ChirpStack codec (same decodeUplink/encodeDownlink
// interface), dropped into this folder, or ChirpStack's decoded `object`, and a profile maps their fields.
// Uplink, FPort 1, 12 bytes big endian: level % (1), status bits (1), power W ×10 (2), energy Wh (4),
// voltage V ×10 (2), current mA (2). Downlink, FPort 10: 0x01 then the level % (1 byte): dim to that level.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 1) return { errors: ['unexpected fPort ' + input.fPort] };
  if (b.length !== 12) return { errors: ['payload of ' + b.length + ' bytes, expected 12'] };
  var u16 = function (i) {
    return (b[i] << 8) | b[i + 1];
  };
  var u32 = function (i) {
    return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
  };
  return { data: { level: b[0], status: b[1], power_w: u16(2) / 10, energy_wh: u32(4), voltage_v: u16(8) / 10, current_ma: u16(10) } };
}
function encodeDownlink(input) {
  var level = input.data.level;
  if (typeof level !== 'number' || level < 0 || level > 100) return { errors: ['level must be 0..100'] };
  return { fPort: 10, bytes: [0x01, Math.round(level)] };
}
