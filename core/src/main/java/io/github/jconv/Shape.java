package io.github.jconv;

import java.util.Arrays;

/**
 * A tensor shape: every dimension non-negative, the element count within {@code long}. A zero
 * dimension gives an empty tensor (PyTorch allows one too, e.g. a batch of 0).
 */
public final class Shape {
    private final int[] dims;
    private final long elements;

    private Shape(String tensor, int[] dims) {
        this.dims = dims;
        String what = tensor == null ? "shape " + Arrays.toString(dims) : tensor + " shape " + Arrays.toString(dims);
        long n = 1;
        boolean overflow = false;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException(what + ": dimension " + i + " is " + dims[i]
                        + "; every dimension must be non-negative, e.g. 1");
            }
            if (!overflow) {
                long m = n * (long) dims[i];
                // n and dims[i] are non-negative: an overflow shows as a quotient that does not give n back
                if (dims[i] != 0 && (m < 0 || m / dims[i] != n)) overflow = true;
                else n = m;
            }
        }
        // An empty tensor (a zero dimension) has 0 elements whatever its other dimensions are.
        for (int d : dims) {
            if (d == 0) {
                this.elements = 0;
                return;
            }
        }
        if (overflow) {
            throw new IllegalArgumentException(what + ": element count overflows long (max " + Long.MAX_VALUE
                    + "); use smaller dimensions");
        }
        this.elements = n;
    }

    public static Shape of(int... dims) {
        if (dims == null) throw new IllegalArgumentException("dims is null; pass the dimensions, e.g. Shape.of(8, 64, 56, 56)");
        return new Shape(null, dims.clone());
    }

    /** As {@link #of(int...)}, naming the tensor (input, weight, ...) in a message. */
    static Shape named(String tensor, int... dims) {
        return new Shape(tensor, dims.clone());
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int i) {
        return dims[i];
    }

    public int[] dims() {
        return dims.clone();
    }

    public long elementCount() {
        return elements;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
