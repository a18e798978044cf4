package io.github.jconv.spi;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;

/**
 * A session bound to one device: buffers, transfers, the operations. Obtain one through
 * {@link io.github.jconv.ConvEngine}, which validates every call before it reaches {@link #execute}.
 * A session is safe to use from several threads unless {@link #threadSafe()} says otherwise.
 */
public interface ConvBackend extends AutoCloseable {
    /** Provider name, e.g. "cpu". */
    String name();

    DeviceInfo device();

    DeviceBuffer allocate(DType dtype, Shape shape);

    /** Copies {@code length} values from {@code src[srcOffset…]} into {@code dst} at element {@code dstOffset}. */
    void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length);

    void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length);

    void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length);

    void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length);

    /**
     * Whether this session can run {@code pass} of {@code spec} in {@code dtype}. The statement of
     * support lives beside the implementation; {@link #capabilities()} derives from it.
     */
    Support supports(ConvSpec spec, Pass pass, DType dtype);

    /**
     * Runs one pass. Called only after the engine checked shapes, dtypes, ownership and
     * {@link #supports}; outputs are overwritten.
     */
    void execute(Pass pass, ConvSpec spec, ConvArgs args);

    /** The algorithm the last {@link #execute} on this thread ran, e.g. "im2col+gemm". */
    String lastAlgorithm();

    /** Live buffer and byte counters of this session (lifecycle tests, leak reports). */
    BufferTracker tracker();

    /** The capability matrix, derived from {@link #supports}. */
    default Capabilities capabilities() {
        return Capabilities.derive(this);
    }

    /** Whether {@code buffer} is memory of this session (decorators delegate to what they wrap). */
    default boolean owns(DeviceBuffer buffer) {
        return buffer.owner() == this;
    }

    /** False when the engine must give each thread its own session. */
    default boolean threadSafe() {
        return true;
    }

    /** Blocks until queued work is done (a no-op on synchronous backends). */
    default void synchronize() {
    }

    @Override
    void close();
}
