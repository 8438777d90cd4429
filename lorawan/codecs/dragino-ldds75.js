// Dragino LDDS75 / LDDS20 LoRaWAN ultrasonic distance sensors (canal and river level from above the water).
// Payload specification: Dragino "LDDS75 - LoRaWAN Distance Detection Sensor User Manual", section 2.3
// "Uplink Payload" (FPort 2, 8 bytes): battery mV (2 bytes, big endian, high 2 bits reserved), distance mm
// (2 bytes), interrupt flag (1 byte), DS18B20 temperature ×10 °C (2 bytes, signed), sensor flag (1 byte).
// A distance of 0 or 20 (mm) is the sensor saying "no valid echo": reported as an error, not as a level.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) return { errors: ['unexpected fPort ' + input.fPort + ' (LDDS75 sends readings on 2)'] };
  if (b.length < 8) return { errors: ['payload of ' + b.length + ' bytes, LDDS75 sends 8'] };
  var distance = (b[2] << 8) | b[3];
  if (distance === 0 || distance === 20) return { errors: ['no valid echo (distance ' + distance + ')'] };
  var t = (b[5] << 8) | b[6];
  if (t & 0x8000) t = t - 0x10000;
  return {
    data: {
      battery_v: (((b[0] << 8) | b[1]) & 0x3fff) / 1000,
      distance_mm: distance,
      interrupt: b[4],
      temperature_c: t / 10,
      sensor_flag: b[7],
    },
  };
}
