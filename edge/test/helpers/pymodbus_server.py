"""Independent Modbus TCP peer for the edge tests: pymodbus (Debian python3-pymodbus 3.0.0rc1).

usage: /usr/bin/python3 pymodbus_server.py PORT '{"255": {"hr": {"3": [1, 2, 3]}, "ir": {}}}'
Addresses are zero-based protocol addresses (zero_mode=True).
"""
import json
import logging
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartTcpServer

logging.basicConfig(level=logging.WARNING)
port = int(sys.argv[1])
spec = json.loads(sys.argv[2])
SIZE = 7000


def block(table):
    values = [0] * SIZE
    for start, regs in (table or {}).items():
        for i, v in enumerate(regs):
            values[int(start) + i] = v
    return ModbusSequentialDataBlock(0, values)


slaves = {}
for unit, tables in spec.items():
    slaves[int(unit)] = ModbusSlaveContext(
        hr=block(tables.get("hr")), ir=block(tables.get("ir")),
        di=ModbusSequentialDataBlock(0, [0] * 16), co=ModbusSequentialDataBlock(0, [0] * 16),
        zero_mode=True,
    )
context = ModbusServerContext(slaves=slaves, single=False)
print("pymodbus", port, "units", list(slaves), flush=True)
StartTcpServer(context=context, address=("127.0.0.1", port))
