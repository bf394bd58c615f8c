/* Python's repr() of a float, as Keras's logs reach CSV files and messages
 * (str(0.1) == "0.1", "1e-05", "100.0", "nan", "inf"). */
#ifndef NNC_PYFLOAT_H
#define NNC_PYFLOAT_H

#include <stddef.h>

/* The shortest text that reads back as v, laid out as Python's repr: fixed
 * for exponents in [-4, 16), else d.ddde+XX. buf: at least 32 bytes. */
void py_float_repr(double v, char *buf, size_t n);

#endif
