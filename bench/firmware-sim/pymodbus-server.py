# Independent Modbus TCP peer for the firmware-sim bench: Debian pymodbus holding the air station's
# eight registers at unit 255. Usage: /usr/bin/python3 pymodbus-server.py PORT
import sys
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
from pymodbus.server import StartTcpServer

port = int(sys.argv[1])
# Block addresses are 1-based inside pymodbus' sequential block: start 0 covers protocol address 0 upwards.
store = ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, [0] * 3 + [10, 32, 160, 82, 35, 60, 6950, 7800] + [0] * 10), zero_mode=True)
context = ModbusServerContext(slaves={255: store}, single=False)
print("ready", flush=True)
StartTcpServer(context=context, address=("127.0.0.1", port))
