"""asyncio adapters that carry APDUs to and from meters over serial ports and TCP."""
