// A codec with a bug: returns text where numbers belong.
function decodeUplink(input) {
  return { data: { distance_mm: 'about ' + input.bytes[0] } };
}
