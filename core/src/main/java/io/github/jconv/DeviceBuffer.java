package io.github.jconv;

import io.github.jconv.spi.ConvBackend;

/**
 * Memory on one backend session's device, of a fixed dtype and shape. Close it when done; using it
 * after close, or with another session, is an error.
 */
public interface DeviceBuffer extends AutoCloseable {
    DType dtype();

    Shape shape();

    default long elementCount() {
        return shape().elementCount();
    }

    default long byteSize() {
        return elementCount() * dtype().bytes();
    }

    /** The session that made this buffer. */
    ConvBackend owner();

    boolean isClosed();

    @Override
    void close();
}
