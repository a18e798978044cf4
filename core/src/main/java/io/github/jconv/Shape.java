package io.github.jconv;

import java.util.Arrays;

/** A tensor shape: every dimension positive, the element count within {@code long}. */
public final class Shape {
    private final int[] dims;
    private final long elements;

    private Shape(int[] dims) {
        this.dims = dims;
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] <= 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + ": dimension " + i + " is "
                        + dims[i] + "; every dimension must be positive, e.g. 1");
            }
            try {
                n = Math.multiplyExact(n, dims[i]);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims)
                        + ": element count overflows long (max " + Long.MAX_VALUE + "); use smaller dimensions");
            }
        }
        this.elements = n;
    }

    public static Shape of(int... dims) {
        if (dims == null) throw new IllegalArgumentException("dims is null; pass the dimensions, e.g. Shape.of(8, 64, 56, 56)");
        return new Shape(dims.clone());
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
