// A codec with a bug that never returns.
function decodeUplink(input) {
  for (;;) {}
}
