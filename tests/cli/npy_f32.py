"""A float32 .npy writer for the CLI tests' Python snippets (numpy may be
absent): npy(path, shape, values), C order, format 1.0."""
import struct


def npy(path, shape, vals):
    shp = ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % shp
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode()
                + struct.pack("<%df" % len(vals), *vals))
